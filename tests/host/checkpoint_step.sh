#!/bin/bash
# The host matrix's checkpoint step (in the guest: systemd, pure cgroup v2, Debian's kernel):
# what differs there from the hybrid host, where make checkpoint-test runs everything: the v2
# freezer and cgroup root, the systemd driver's scope, Debian's own criu. ocelot's checkpoint
# tests that make and restore cgroups, with cgroupfs and with --systemd-cgroup, then podman's
# checkpoint with its systemd cgroup manager (all of them take about 15 minutes under TCG: these
# about 3). The criu: Debian's when `criu check` passes on this kernel, else the one make
# checkpoint-test built on the host (shared with the repository); nothing is built here.
#   checkpoint_step.sh BUILD_DIR
set -uo pipefail
B=$1
criu=$(bash tests/checkpoint/criu.sh /nonexistent /mnt/repo/build-criu) || exit 1
echo "criu: $criu ($("$criu" --version | head -1))"
tests=(-k test_checkpoint_and_restore_continue_the_count -k test_a_paused_container_is_dumped_through_its_freezer
  -k test_restored_stdout_is_the_new_callers_pipe -k test_a_terminal_container_restores_with_a_new_pty
  -k test_restore_from_a_damaged_image_leaves_nothing)
# cgroupfs on v2: the v2 freezer and cgroup root (the rest is the systemd run's too).
OCELOT_CRIU=$criu python3 tests/integration/run.py --ocelot "$B/ocelot" --probe "$B/ocelot-probe" --tier container \
  -k test_checkpoint_and_restore_continue_the_count -k test_a_paused_container_is_dumped_through_its_freezer || exit 1
OCELOT_CRIU=$criu OCELOT_EXTRA_ARGS=--systemd-cgroup python3 tests/integration/run.py --ocelot "$B/ocelot" \
  --probe "$B/ocelot-probe" --tier container "${tests[@]}" || exit 1
OCELOT_CRIU=$criu python3 tests/callers/run.py --ocelot "$B/ocelot" --probe "$B/ocelot-probe" --systemd \
  --no-real-image -k test_checkpoint_restore_export_and_import
