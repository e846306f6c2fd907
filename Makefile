# Thin wrapper around meson so the README's two commands work on a fresh
# Debian 12 machine: `make demo` and `make test`. Both install missing
# packages first (scripts/install-deps.sh is the only list of them).

BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON_OPTS ?=
JOBS       ?= $(shell nproc)

.PHONY: all deps build asan demo test test-fast test-asan fuzz bench clean format pcaps

all: build

deps:
	@sh scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false \
	    -Dbuildtype=debug $(MESON_OPTS)

asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD) -j $(JOBS)

# Every test, in the normal build and again under ASan+UBSan.
test: build asan
	meson test -C $(BUILD) --print-errorlogs --num-processes $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    meson test -C $(ASAN_BUILD) --print-errorlogs --num-processes $(JOBS) --no-suite slow

test-fast: build
	meson test -C $(BUILD) --print-errorlogs --num-processes $(JOBS)

demo: build
	sh scripts/demo.sh $(BUILD)

pcaps: build
	sh pcaps/regenerate.sh $(BUILD)/emulator/sluice-synth

fuzz:
	sh test/fuzz/run.sh $(FUZZ_SECONDS)

bench: build
	sh bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
