# ocelot: the two commands of the README are `make demo` and `make test`.
BUILD    ?= build
BUILD_TYPE ?= Release
WERROR   ?= ON
OCELOT   := $(BUILD)/ocelot
BUNDLE   ?= $(BUILD)/demo-bundle
DEPS     := g++ cmake make pkg-config nlohmann-json3-dev libseccomp-dev libcap-dev libcxxopts-dev \
            doctest-dev busybox-static python3 procps golang-github-containers-common
BENCH_DEPS := runc hyperfine

.PHONY: all deps build demo test unit integration bench clean format

all: build

# Installs the Debian packages we need; a no-op when they are all there.
deps:
	@missing=""; for p in $(DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DOCELOT_WERROR=$(WERROR) >/dev/null
	@cmake --build $(BUILD) -j$$(nproc)

$(BUNDLE)/config.json: $(OCELOT) examples/make-bundle.sh
	examples/make-bundle.sh $(OCELOT) $(BUNDLE) echo "hello from an ocelot container"

# Sets everything up and runs a container from the example bundle.
demo: deps build $(BUNDLE)/config.json
	$(OCELOT) --root $(BUILD)/demo-root run --bundle $(BUNDLE) demo-$$$$

unit: build
	$(BUILD)/unit_tests

integration: build
	python3 tests/integration/run.py --ocelot $(OCELOT) --probe $(BUILD)/ocelot-probe

# Every test: unit (no root needed) then integration (as root, real kernel).
test: deps build
	$(BUILD)/unit_tests
	python3 tests/integration/run.py --ocelot $(OCELOT) --probe $(BUILD)/ocelot-probe

bench: deps build
	@missing=""; for p in $(BENCH_DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	bench/startup.sh $(OCELOT)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD)
