# ringhttpd: the two commands a user needs, each installing what it lacks.
#   make run    build (release) and serve tests/demo-site on http://127.0.0.1:8080/
#   make test   build with -Werror and run every test, then the Debian package
#               (as make deb makes it, of the test build) under a real systemd
#               in a container, then again
#               under ASan+UBSan, then fuzz the parsers briefly (libFuzzer,
#               clang), then the load benchmark against nginx and lighttpd in
#               its short form
#   make deb    build ringhttpd_VERSION_ARCH.deb (release build) in build-release/
# Also: make build, make bench, make load, make clean.

SHELL := /bin/bash
BUILD_PACKAGES := g++ meson ninja-build pkg-config cmake liburing-dev libmimalloc-dev \
                  libcxxopts-dev libgtest-dev libbenchmark-dev libsystemd-dev libssl-dev media-types
TEST_PACKAGES := curl clang libclang-rt-14-dev systemd openssl python3 mmdebstrap systemd-container lintian
# make deb: dpkg-shlibdeps computes Depends, help2man writes the man page.
DEB_PACKAGES := dpkg-dev help2man
# bench/load.sh: the peers, the load generators, strace and the chart.
LOAD_PACKAGES := nginx-light lighttpd wrk nghttp2-client strace gnuplot-nox curl
# Installed paths as Debian's, and the hardening Debian builds its servers
# with (dpkg-buildflags: fortified libc calls, full RELRO). The test build
# has them too: make test packages it.
PACKAGE_OPTIONS := --prefix=/usr --sysconfdir=/etc -Dcpp_args=-D_FORTIFY_SOURCE=2 \
                   -Dcpp_link_args=-Wl,-z,relro,-z,now
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
JOBS ?= $(shell nproc)
PORT ?= 8080

.PHONY: run test build bench bench-build load deps test-deps load-deps deb deb-deps clean

# Installs only what is missing, so a ready machine does no apt work at all.
define install_missing
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	    | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call install_missing,$(BUILD_PACKAGES))

test-deps: deps
	$(call install_missing,$(TEST_PACKAGES))

load-deps: deps
	$(call install_missing,$(LOAD_PACKAGES))

deb-deps: deps
	$(call install_missing,$(DEB_PACKAGES))

build-release/build.ninja: | deps
	meson setup build-release --buildtype=release -Dtests=false $(PACKAGE_OPTIONS)

build: deps build-release/build.ninja
	ninja -C build-release -j $(JOBS)

# The units name /usr/bin/ringhttpd: a build-release made with another
# prefix is reconfigured first.
deb: deb-deps build-release/build.ninja
	meson configure build-release $(PACKAGE_OPTIONS)
	ninja -C build-release -j $(JOBS)
	systemd/deb/build-deb.sh build-release

run: build
	@echo "access log: build-release/access.log"
	./build-release/src/ringhttpd --root tests/demo-site --listen 127.0.0.1:$(PORT) --workers 2 \
	  --access-log build-release/access.log

build-test/build.ninja: | deps
	meson setup build-test --buildtype=debugoptimized -Dwerror=true $(PACKAGE_OPTIONS)

build-fuzz/build.ninja: | deps
	CXX=clang++ meson setup build-fuzz --buildtype=debugoptimized -Dtests=false -Dfuzz=true \
	  -Db_sanitize=address,undefined -Db_lundef=false -Dmimalloc=disabled

build-asan/build.ninja: | deps
	meson setup build-asan --buildtype=debug -Dwerror=true \
	  -Db_sanitize=address,undefined -Db_lundef=false -Dmimalloc=disabled

test: test-deps load-deps deb-deps build-test/build.ninja build-asan/build.ninja build-fuzz/build.ninja
	meson configure build-test $(PACKAGE_OPTIONS)
	ninja -C build-test -j $(JOBS)
	meson test -C build-test --print-errorlogs --num-processes 1
	systemd/deb/build-deb.sh build-test
	meson test -C build-test --suite package --print-errorlogs --verbose
	ninja -C build-asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C build-asan --print-errorlogs --num-processes 1 --timeout-multiplier 3
	ninja -C build-fuzz -j $(JOBS)
	meson test -C build-fuzz --suite fuzz --print-errorlogs
	bench/load.sh --quick --build build-test --guard 0.5 --no-syscalls

bench-build: deps build-release/build.ninja
	meson configure build-release -Dtests=true
	ninja -C build-release -j $(JOBS)

bench: bench-build
	meson test -C build-release --benchmark --verbose

# The load benchmark against nginx and lighttpd (bench/load.sh --help).
load: load-deps bench-build
	bench/load.sh $(LOAD_ARGS)

clean:
	rm -rf build build-release build-test build-asan build-fuzz
