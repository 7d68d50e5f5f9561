# ocelot: the two commands of the README are `make demo` and `make test`. Each test tier has its
# own target, so that a developer can run one:
#   make unit          doctest, no root                              (seconds)
#   make layering      includes point down the layers                (seconds)
#   make integration   the real kernel, as root: containers          (~2 min)
#   make vm-test       VM isolation under QEMU, compare; twice:       (~2 min)
#                      from templates, then cold (--vm-template=off)
#   make callers       podman, containerd, docker drive ocelot       (~1 min; RUNTIME=runc for the same with runc)
#   make cri           containerd's CRI runs pods through ocelot     (seconds)
#   make fuzz-short    each fuzz target for FUZZ_SECONDS (60)        (~3 min + a clang build)
#   make fuzz          the same, FUZZ_SECONDS=600 by default
#   make test-asan     unit + integration under ASan/UBSan           (~10 min build)
#   make stress        100 rounds of kill -9 at every stage          (~4 min)
BUILD    ?= build
BUILD_TYPE ?= Release
WERROR   ?= ON
OCELOT   := $(BUILD)/ocelot
PROBE    := $(BUILD)/ocelot-probe
BUNDLE   ?= $(BUILD)/demo-bundle
PY       := /usr/bin/python3
DEPS     := g++ cmake make pkg-config nlohmann-json3-dev libseccomp-dev libcxxopts-dev \
            doctest-dev busybox-static python3 procps util-linux golang-github-containers-common libsystemd-dev
# The integration tier: newuidmap/newgidmap for the rootless tests, iproute2 for network namespaces.
INTEGRATION_DEPS := uidmap iproute2
BENCH_DEPS := runc hyperfine
CALLER_DEPS := podman containerd docker.io runc catatonit mmdebstrap util-linux
CRI_DEPS := containerd runc python3-grpcio python3-grpc-tools
FUZZ_DEPS := clang libclang-rt-14-dev
# VM-isolated mode: the VMM (the guest kernel comes from Debian's linux-image-amd64, unpacked into
# the cache by vm/vmm/setup-kernel.sh, not installed).
VM_DEPS  := qemu-system-x86 python3-jsonschema
FUZZ_SECONDS ?= 60
RUNTIME  ?=

.PHONY: all deps vm-setup build demo test unit layering integration vm-test callers callers-runc cri \
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

callers: build
	$(call apt_install,$(CALLER_DEPS))
	python3 tests/callers/run.py --ocelot $(OCELOT) --probe $(PROBE) $(if $(RUNTIME),--runtime $(RUNTIME) --name $(notdir $(RUNTIME)))

# The same tier with Debian's runc in ocelot's place: the tests are fair.
callers-runc: build
	$(MAKE) callers RUNTIME=/usr/sbin/runc

cri: build
	$(call apt_install,$(CRI_DEPS))
	$(PY) tests/cri/run.py --ocelot $(OCELOT) --probe $(PROBE)

FUZZ_TARGETS := fuzz_config fuzz_cli_values fuzz_vm_frames
fuzz-short fuzz:
	$(call apt_install,$(DEPS) $(FUZZ_DEPS))
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOCELOT_FUZZ=ON -DOCELOT_STATIC_LIBS=OFF >/dev/null
	@cmake --build build-fuzz -j$$(nproc) --target $(FUZZ_TARGETS) >/dev/null
	@secs=$(if $(filter fuzz,$@),$(if $(filter 60,$(FUZZ_SECONDS)),600,$(FUZZ_SECONDS)),$(FUZZ_SECONDS)); \
	for t in config:config cli_values:cli vm_frames:vm; do \
	  name=$${t%%:*}; seeds=tests/fuzz/corpus/$${t##*:}; corpus=build-fuzz/corpus-$$name; mkdir -p $$corpus; \
	  echo "fuzz_$$name: $$secs s"; \
	  build-fuzz/fuzz_$$name -max_total_time=$$secs -print_final_stats=1 $$corpus $$seeds 2>build-fuzz/fuzz_$$name.log \
	    || { tail -30 build-fuzz/fuzz_$$name.log; exit 1; }; \
	  grep -E "stat::number_of_executed_units" build-fuzz/fuzz_$$name.log | sed "s/^/  /"; \
	done

test-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOCELOT_SANITIZE=ON -DOCELOT_STATIC_LIBS=OFF >/dev/null
	@cmake --build build-asan -j$$(nproc) --target ocelot unit_tests ocelot-probe ocelot-ptrace-attacker
	build-asan/unit_tests
	python3 tests/integration/run.py --ocelot build-asan/ocelot --probe build-asan/ocelot-probe --tier container

stress: build
	python3 tests/stress/run.py --ocelot $(OCELOT) --probe $(PROBE) --rounds 100

# Every tier CI runs: unit, layering, integration (containers), VM, callers, CRI, a short fuzz.
test: deps vm-setup build
	$(MAKE) unit layering integration vm-test callers cri fuzz-short

bench: deps build
	$(call apt_install,$(BENCH_DEPS))
	bench/startup.sh $(OCELOT)

# Boot-to-exit of /bin/true: VM isolation next to container isolation.
bench-vm: vm-setup build
	bench/vm.sh $(OCELOT)

bench-callers: build
	$(call apt_install,$(CALLER_DEPS) hyperfine)
	$(PY) bench/callers.py --ocelot $(OCELOT) --probe $(PROBE)

bench-parallel: build
	$(call apt_install,$(BENCH_DEPS))
	bench/parallel.sh $(OCELOT)

install: build
	cmake --install $(BUILD) --prefix $(or $(PREFIX),/usr/local)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h' '*.c')

clean:
	rm -rf $(BUILD) build-fuzz build-asan
