# ocelot: the two commands of the README are `make demo` and `make test`.
BUILD    ?= build
BUILD_TYPE ?= Release
WERROR   ?= ON
OCELOT   := $(BUILD)/ocelot
BUNDLE   ?= $(BUILD)/demo-bundle
DEPS     := g++ cmake make pkg-config nlohmann-json3-dev libseccomp-dev libcap-dev libcxxopts-dev \
            doctest-dev busybox-static python3 procps golang-github-containers-common
BENCH_DEPS := runc hyperfine
# VM-isolated mode: the VMM (the guest kernel comes from Debian's linux-image-amd64, unpacked into
# the cache by vm/setup-kernel.sh, not installed).
VM_DEPS  := qemu-system-x86
VM_KERNEL := /var/cache/ocelot/vm/kernel/vmlinux

.PHONY: all deps vm-setup build demo test unit integration bench bench-vm clean format

all: build

# Installs the Debian packages we need; a no-op when they are all there.
deps:
	@missing=""; for p in $(DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# Everything VM isolation needs: qemu-system-x86 and the guest kernel. A no-op when present.
vm-setup: deps
	@dpkg -s $(VM_DEPS) >/dev/null 2>&1 || { echo "installing: $(VM_DEPS)"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(VM_DEPS) >/dev/null; }
	@bash vm/setup-kernel.sh

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

integration: build
	python3 tests/integration/run.py --ocelot $(OCELOT) --probe $(BUILD)/ocelot-probe

# Every test: unit (no root needed) then integration (as root, real kernel).
test: deps vm-setup build
	$(BUILD)/unit_tests
	python3 tests/integration/run.py --ocelot $(OCELOT) --probe $(BUILD)/ocelot-probe

bench: deps build
	@missing=""; for p in $(BENCH_DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	bench/startup.sh $(OCELOT)

# Boot-to-exit of /bin/true: VM isolation next to container isolation.
bench-vm: vm-setup build
	bench/vm.sh $(OCELOT)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD)
