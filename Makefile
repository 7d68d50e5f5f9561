# ocelot: the two commands of the README are `make demo` and `make test`. Each test tier has its
# own target, so that a developer can run one:
#   make unit          doctest, no root                              (seconds)
#   make lint          clang-format check, layering, no function over 100 lines, clang-tidy on
#                      the files the last commits changed (make tidy: every file, ~15 min)
#   make layering      includes point down the layers                (seconds)
#   make integration   the real kernel, as root: containers          (~2 min)
#   make vm-test       VM isolation under QEMU, compare; twice:       (~2 min)
#                      from templates, then cold (--vm-template=off)
#   make callers       podman, containerd, docker drive ocelot       (~1 min; RUNTIME=runc for the same with runc)
#   make cri           containerd's CRI runs pods through ocelot     (seconds)
#   make checkpoint-test  checkpoint/restore with CRIU (built from    (~2 min)
#                      ../shared/suites when the installed one fails), podman's with ocelot and runc
#   make conformance   OCI runtime-tools and Kubernetes' critest from  (~6 min; RUNTIME=runc too)
#                      ../shared/suites against their expected lists
#   make fuzz-short    each fuzz target for FUZZ_SECONDS (60)        (~3 min + the clang build)
#   make fuzz          the same, FUZZ_SECONDS=600 by default
#   make test-asan     unit + integration under ASan/UBSan: the fuzzers' clang build (~7 min)
#   make host-test     a systemd + cgroup v2 Debian guest runs the integration tier (cgroupfs and
#                      --systemd-cgroup) and the callers with their systemd managers
#   make stress        100 rounds of kill -9 at every stage          (~4 min)
BUILD    ?= build
BUILD_TYPE ?= Release
WERROR   ?= ON
OCELOT   := $(BUILD)/ocelot
PROBE    := $(BUILD)/ocelot-probe
BUNDLE   ?= $(BUILD)/demo-bundle
PY       := /usr/bin/python3
# Packages, one list per tier: each tier's make target installs its own list, and the host
# matrix's guest (make host-test) is built from these lists alone, so a package a test needs that
# no list names fails there as it would on a user's fresh machine.
BUILD_DEPS := g++ cmake make pkg-config nlohmann-json3-dev libseccomp-dev libcxxopts-dev doctest-dev libsystemd-dev
# What every test tier's harness runs: python3, the busybox rootfs, ps, script(1).
TEST_DEPS := python3 busybox-static procps util-linux
# The integration tier: newuidmap/newgidmap for the rootless tests, ip for network namespaces,
# podman's seccomp profile for the profile tests.
INTEGRATION_DEPS := uidmap iproute2 golang-github-containers-common
DEPS     := $(BUILD_DEPS) $(TEST_DEPS)
BENCH_DEPS := runc hyperfine
CALLER_DEPS := podman containerd docker.io runc catatonit mmdebstrap
# The callers' VM test (tests/callers/test_podman_vm.py): a podman network (CNI's bridge and portmap,
# iptables) in a namespace the test makes (ip). Not in the host matrix's guest: it runs no VM.
CALLER_VM_DEPS := containernetworking-plugins iptables iproute2
CRI_DEPS := containerd runc python3-grpcio python3-grpc-tools mmdebstrap
FUZZ_DEPS := clang libclang-rt-14-dev
# critest also needs containerd with CNI's bridge and portmap (iptables), and the host's pgrep,
# ipcs and C compiler for its stand-in images (tests/conformance/critest_images.py).
CONFORMANCE_DEPS := golang-go containerd containernetworking-plugins iptables procps util-linux gcc libc6-dev
# CRIU 4.2's build dependencies: tests/checkpoint/criu.sh builds it from ../shared/suites when the
# installed criu fails `criu check` (Debian 12's 3.17 on newer kernels).
CRIU_BUILD_DEPS := libprotobuf-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler python3-protobuf \
	libnl-3-dev libcap-dev libnet1-dev libnftables-dev libbsd-dev libgnutls28-dev libdrm-dev uuid-dev pkg-config
LINT_DEPS := clang-format clang-tidy
# VM-isolated mode: the VMM (the guest kernel comes from Debian's linux-image-amd64, unpacked into
# the cache by vm/vmm/setup-kernel.sh, not installed).
# iproute2: the VM network tests make namespaces and veths (ip) and read qdiscs (tc).
VM_DEPS  := qemu-system-x86 python3-jsonschema iproute2
# The host matrix: a systemd + cgroup v2 Debian guest under QEMU, built with mmdebstrap.
HOST_DEPS := qemu-system-x86 qemu-utils mmdebstrap e2fsprogs
# What the host matrix's guest holds beside its base system: the lists of the tiers it runs.
# apparmor: Debian's kernel enables AppArmor and docker.io recommends the package; without its
# parser dockerd refuses every container there, and with it docker and podman ask for profiles.
# criu: the guest's checkpoint step uses Debian's criu 3.17 on Debian's own kernel (where `criu
# check` passes, unlike on this host's newer one) and its libraries run the CRIU built here otherwise.
GUEST_PACKAGES := $(TEST_DEPS) $(INTEGRATION_DEPS) $(CALLER_DEPS) apparmor criu
FUZZ_SECONDS ?= 60
RUNTIME  ?=

.PHONY: all deps vm-setup build san-build demo test unit layering lint format-check tidy tidy-changed integration vm-test callers \
        callers-runc cri conformance checkpoint-test host-test print-packages \
        fuzz fuzz-short test-asan stress bench bench-vm bench-callers bench-parallel clean format install

all: build

# Installs Debian packages; a no-op when they are all there.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps:
	$(call apt_install,$(DEPS))

# Everything VM isolation needs: qemu-system-x86 and the guest kernel. A no-op when present.
vm-setup: deps
	$(call apt_install,$(VM_DEPS))
	@bash vm/vmm/setup-kernel.sh

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DOCELOT_WERROR=$(WERROR) >/dev/null
	@cmake --build $(BUILD) -j$$(nproc)

$(BUNDLE)/config.json: $(OCELOT) examples/make-bundle.sh
	examples/make-bundle.sh $(OCELOT) $(BUNDLE) sh -c 'echo "hello from ocelot: kernel $$(uname -r), pid $$$$"'

# Sets everything up and runs the example bundle twice: as a container, then inside a VM.
demo: deps vm-setup build $(BUNDLE)/config.json
	$(OCELOT) --root $(BUILD)/demo-root run --bundle $(BUNDLE) demo-$$$$
	$(OCELOT) --root $(BUILD)/demo-root --isolation=vm run --bundle $(BUNDLE) demo-vm-$$$$

unit: build
	$(BUILD)/unit_tests

layering:
	@bash tests/layering.sh

integration: deps build
	$(call apt_install,$(INTEGRATION_DEPS))
	python3 tests/integration/run.py --ocelot $(OCELOT) --probe $(PROBE) --tier container

# Twice: guests restored from templates (the default), then every guest booted cold.
vm-test: vm-setup build
	python3 tests/integration/run.py --ocelot $(OCELOT) --probe $(PROBE) --tier vm
	OCELOT_EXTRA_ARGS=--vm-template=off python3 tests/integration/run.py --ocelot $(OCELOT) --probe $(PROBE) --tier vm

callers: build vm-setup
	$(call apt_install,$(CALLER_DEPS) $(CALLER_VM_DEPS))
	python3 tests/callers/run.py --ocelot $(OCELOT) --probe $(PROBE) $(if $(RUNTIME),--runtime $(RUNTIME) --name $(notdir $(RUNTIME)))

# The same tier with Debian's runc in ocelot's place: the tests are fair.
callers-runc: build
	$(MAKE) callers RUNTIME=/usr/sbin/runc

# checkpoint and restore with CRIU: ocelot's own tests, then podman's checkpoint/restore (and
# --export/--import) with ocelot and with runc. A criu that works here is found or built first;
# when neither is possible the tier fails saying why.
checkpoint-test: build
	$(call apt_install,$(CRIU_BUILD_DEPS) $(CALLER_DEPS))
	@criu=$$(bash tests/checkpoint/criu.sh "$(SUITES)" $(CURDIR)/build-criu) || exit 1; \
	echo "checkpoint: $$criu"; \
	OCELOT_CRIU=$$criu $(PY) tests/integration/run.py --ocelot $(OCELOT) --probe $(PROBE) --tier container -k test_checkpoint. && \
	OCELOT_CRIU=$$criu $(PY) tests/callers/run.py --ocelot $(OCELOT) --probe $(PROBE) --no-real-image -k checkpoint && \
	OCELOT_CRIU=$$criu $(PY) tests/callers/run.py --runtime /usr/sbin/runc --name runc --probe $(PROBE) --no-real-image -k checkpoint

cri: build
	$(call apt_install,$(CRI_DEPS))
	$(PY) tests/cri/run.py --ocelot $(OCELOT) --probe $(PROBE)

# One clang build serves the fuzzers and the sanitizer tier: ASan and UBSan (which aborts) in
# every library and binary, libFuzzer's coverage for the fuzz targets.
FUZZ_TARGETS := fuzz_config fuzz_cli_values fuzz_vm_frames
SAN_TARGETS := ocelot unit_tests ocelot-probe ocelot-ptrace-attacker $(FUZZ_TARGETS)
san-build: deps
	$(call apt_install,$(FUZZ_DEPS))
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOCELOT_FUZZ=ON -DOCELOT_STATIC_LIBS=OFF >/dev/null
	@cmake --build build-fuzz -j$$(nproc) --target $(SAN_TARGETS) 2>&1 | grep -E "error:|warning:" | grep -v -- "-no-pie" || true
	@test -x build-fuzz/ocelot

fuzz-short fuzz: san-build
	@secs=$(if $(filter fuzz,$@),$(if $(filter 60,$(FUZZ_SECONDS)),600,$(FUZZ_SECONDS)),$(FUZZ_SECONDS)); \
	for t in config:config cli_values:cli vm_frames:vm; do \
	  name=$${t%%:*}; seeds=tests/fuzz/corpus/$${t##*:}; corpus=build-fuzz/corpus-$$name; mkdir -p $$corpus; \
	  echo "fuzz_$$name: $$secs s"; \
	  build-fuzz/fuzz_$$name -max_total_time=$$secs -print_final_stats=1 $$corpus $$seeds 2>build-fuzz/fuzz_$$name.log \
	    || { tail -30 build-fuzz/fuzz_$$name.log; exit 1; }; \
	  grep -E "stat::number_of_executed_units" build-fuzz/fuzz_$$name.log | sed "s/^/  /"; \
	done

# Unit tests with LeakSanitizer; the integration tier without a leak check (LSan stops the world
# with ptrace, which hangs in ocelot's non-dumpable processes inside user namespaces).
test-asan: san-build
	build-fuzz/unit_tests
	ASAN_OPTIONS=detect_leaks=0 python3 tests/integration/run.py --ocelot build-fuzz/ocelot --probe build-fuzz/ocelot-probe --tier container

# The conformance suites, built from their sources (../shared/suites) with Debian's Go and compared
# with checked-in expectations (tests/conformance/*.expected): a new failure, or an expected one that
# passes, fails the tier. OCI runtime-tools' 58 validation programs, and Kubernetes' critest through a
# private containerd (RuntimeClass handler "ocelot") in private network/IPC/UTS namespaces.
# RUNTIME=/usr/sbin/runc runs both with runc (its own expectations); CONFORMANCE_SUITES picks one.
SUITES ?= $(firstword $(wildcard $(CURDIR)/../shared/suites /work/shared/suites))
CONFORMANCE_SUITES ?= runtime-tools critest
CRITEST := build-conformance/cri-tools-v1.26.1/build/bin/linux/amd64/critest
CONFORMANCE_RUNTIME = $(if $(RUNTIME),--runtime $(RUNTIME) --name $(notdir $(RUNTIME)),--runtime $(OCELOT) --name ocelot)
conformance: deps build
	$(call apt_install,$(CONFORMANCE_DEPS))
	@if [ ! -f "$(SUITES)/runtime-tools-260e151.tar.gz" ] || [ ! -f "$(SUITES)/cri-tools-v1.26.1.tar.gz" ]; then \
	  echo "conformance: skipped: needs the suites' sources (runtime-tools-260e151.tar.gz, cri-tools-v1.26.1.tar.gz) in ../shared/suites, or SUITES=DIR"; \
	  exit 0; fi; \
	rc=0; \
	for s in $(CONFORMANCE_SUITES); do \
	  bash tests/conformance/build_suites.sh "$(SUITES)" $(CURDIR)/build-conformance $$s || { rc=1; continue; }; \
	  case $$s in \
	    runtime-tools) python3 tests/conformance/runtime_tools.py --suite build-conformance/runtime-tools-260e151 $(CONFORMANCE_RUNTIME) || rc=1 ;; \
	    critest) python3 tests/conformance/critest.py --critest $(CRITEST) $(CONFORMANCE_RUNTIME) || rc=1 ;; \
	    *) echo "conformance: unknown suite $$s"; rc=1 ;; \
	  esac; \
	done; exit $$rc

print-packages:
	@echo $(GUEST_PACKAGES)

# The host matrix: a Debian 12 guest with systemd and pure cgroup v2 (tests/host/), booted under
# QEMU, runs the integration tier with and without --systemd-cgroup, the callers with their
# systemd cgroup managers, and checkpoint/restore with Debian's criu (tests/host/checkpoint_step.sh);
# STEPS=callers-runc runs the callers with runc there, for reference.
# The guest image is cached; STEPS picks steps. Under TCG the whole tier
# takes about 12 minutes per driver, so make test runs a part: with the systemd driver (new on
# this host) every module that makes cgroups, undoes them or fails on the way (not the rootfs,
# seccomp, console, escape, process and rootless ones), with cgroupfs (the host's own tiers run
# it) the cgroup and drop-in modules. HOST_ONLY= HOST_ONLY_SYSTEMD= runs everything.
HOST_ONLY ?= test_cgroups. test_drop_in.
HOST_ONLY_SYSTEMD ?= test_cgroups. test_cleanup. test_concurrency. test_correctness. test_defects. test_drop_in. \
  test_faults. test_hooks. test_hostile. test_lifecycle.
HOST_TIMEOUT ?= 60
host-test: deps build
	$(call apt_install,$(HOST_DEPS))
	python3 tests/host/run.py --build $(BUILD) --packages "$(GUEST_PACKAGES)" $(if $(STEPS),--steps "$(STEPS)") \
	  --only "$(HOST_ONLY)" --only-systemd "$(HOST_ONLY_SYSTEMD)" --timeout $(HOST_TIMEOUT)

stress: build
	python3 tests/stress/run.py --ocelot $(OCELOT) --probe $(PROBE) --rounds 100

# Every tier CI runs: unit, layering, integration (containers), VM, callers, CRI, a short fuzz.
test: deps vm-setup build
	$(MAKE) unit lint integration conformance checkpoint-test test-asan vm-test callers cri host-test fuzz-short

bench: deps build
	$(call apt_install,$(BENCH_DEPS))
	bench/startup.sh $(OCELOT)

# Boot-to-exit of /bin/true: VM isolation next to container isolation.
bench-vm: vm-setup build
	bench/vm.sh $(OCELOT)

bench-callers: build vm-setup
	$(call apt_install,$(CALLER_DEPS) hyperfine)
	$(PY) bench/callers.py --ocelot $(OCELOT) --probe $(PROBE)

bench-parallel: build
	$(call apt_install,$(BENCH_DEPS))
	bench/parallel.sh $(OCELOT)

install: build
	cmake --install $(BUILD) --prefix $(or $(PREFIX),/usr/local)

SOURCES = $$(git ls-files '*.cc' '*.h' '*.c')
format:
	clang-format -i $(SOURCES)

# Fails on any file clang-format would change, names them.
format-check:
	$(call apt_install,$(LINT_DEPS))
	@clang-format --dry-run -Werror $(SOURCES) && echo "format: every file is formatted"

# clang-tidy (.clang-tidy: defects, not style) on every source file, or on those the last
# TIDY_COMMITS commits changed (tidy-changed: what CI runs, since a full run takes ~15 min here).
TIDY_COMMITS ?= 1
tidy: build
	$(call apt_install,$(LINT_DEPS))
	run-clang-tidy -p $(BUILD) -quiet -extra-arg=-Wno-unknown-warning-option '^$(CURDIR)/(base|spec|namespaces|cgroups|runtime|vm|isolation|compare|cli)/'
	python3 tests/long_functions.py
tidy-changed: build
	$(call apt_install,$(LINT_DEPS))
	@base=$$(git rev-list --max-count=1 --skip=$(TIDY_COMMITS) HEAD 2>/dev/null || true); \
	files=$$(git diff --name-only --diff-filter=d $${base:-$$(git rev-list --max-parents=0 HEAD)} HEAD -- \
	  'base/*.cc' 'spec/*.cc' 'namespaces/*.cc' 'cgroups/*.cc' 'runtime/*.cc' 'vm/*.cc' 'isolation/*.cc' 'compare/*.cc' 'cli/*.cc' \
	  | grep -v systemd_helper.cc || true); \
	if [ -n "$$files" ]; then echo "tidy: $$(echo $$files | wc -w) files"; \
	  run-clang-tidy -p $(BUILD) -quiet -extra-arg=-Wno-unknown-warning-option $$files > $(BUILD)/tidy.log 2>&1 \
	    || { grep -E 'warning:|error:' $(BUILD)/tidy.log | grep -v unknown-warning; exit 1; }; \
	fi; echo "tidy: no findings"

lint: format-check layering tidy-changed
	python3 tests/long_functions.py

clean:
	rm -rf $(BUILD) build-fuzz build-conformance build-criu
