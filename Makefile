# netmove: one non-recursive Makefile (see docs/STYLE.md "Build").
#
#   make            build build/netmove, build/netmoved and the test programs
#   make deps       install missing Debian packages (root), idempotent
#   make check      deps + build + unit tests (plain and ASan/UBSan) + lab scenarios
#   make demo       deps + build + the lab demo (QEMU alone vs netmove, ~20 s)
#   make install    install into $(DESTDIR)$(PREFIX) and $(DESTDIR)$(SYSCONFDIR)
#   make uninstall  remove what 'make install' installed (the configuration
#                   only if it is still the example)
#   make deb        the Debian package (dpkg-buildpackage -b -us -uc), in build/deb/
#   make deb-check  build the package, install it with apt, check it, purge it
#   make bench      benchmarks (figures side by side with the reference tools)
#   make clean      remove our objects (keeps the libopenvswitch build)
#   make distclean  remove build/ entirely
#
# V=1 shows the commands.

BUILD       ?= build
# libopenvswitch's configure gets the compiler flags of the environment as
# they came (dpkg-buildflags' in a package build), never ours: make exports
# a variable from the environment with what this file appends to it
# (-include config.h, -Werror), and configure fails on those.
ovs_env = $(if $(filter environment%,$(origin $(1))),$(1)='$($(1))',-u $(1))
OVS_ENV    := $(foreach v,CFLAGS CPPFLAGS LDFLAGS,$(call ovs_env,$(v)))
# Installation (Debian's FHS layout; 'make install' honours DESTDIR).
# SYSCONFDIR is compiled in: the default configuration is
# $(SYSCONFDIR)/netmove/netmoved.json (netmove/common/paths.h).
PREFIX      ?= /usr
SYSCONFDIR  ?= /etc
DESTDIR     ?=
CC          ?= gcc
OVS_TARBALL ?= /usr/src/openvswitch/openvswitch.tar.gz
OVS_VERSION := $(shell dpkg-query -W -f='$${Version}' openvswitch-source 2>/dev/null)
OVS_SRC     := $(BUILD)/ovs
OVS_STAMP   := $(OVS_SRC)/.netmove-built
# libopenvswitch is configured as Debian's openvswitch is, so that its default
# run directory (ovs_rundir(): /var/run/openvswitch) is the installed switch's.
OVS_CONFIGURE := --prefix=/usr --localstatedir=/var --sysconfdir=/etc
# What the stamp records: a new version or new flags rebuild it.
OVS_BUILD_ID  := $(OVS_VERSION) $(OVS_CONFIGURE)
OVS_LIB     := $(OVS_SRC)/lib/.libs/libopenvswitch.a
OVS_LIBS    := $(OVS_LIB) -lssl -lcrypto -lcap-ng \
               $(OVS_SRC)/lib/.libs/libopenvswitchavx512.a \
               -latomic -lm -lunbound -lpthread -lrt

ifeq ($(V),1)
Q :=
quiet = @:
else
Q := @
quiet = @printf '  %-7s %s\n'
endif

WARN     := -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
            -Wno-missing-field-initializers -Werror
# OVS headers are included as system headers: their warnings are not ours.
# Its config.h is forced first, as every OVS translation unit has it first.
CPPFLAGS += -I. -isystem $(OVS_SRC) -isystem $(OVS_SRC)/include \
            -isystem $(OVS_SRC)/lib -include $(OVS_SRC)/config.h \
            $(shell pkg-config --cflags libnftnl libmnl libnetfilter_conntrack libvirt 2>/dev/null)
CPPFLAGS += -DNM_SYSCONFDIR='"$(SYSCONFDIR)"'
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) -MMD -MP -fno-strict-aliasing
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SYSLIBS  := $(shell pkg-config --libs libnftnl libmnl libnetfilter_conntrack 2>/dev/null) -lpcap
# libvirt's client library: only watch-libvirt calls it, in netmove-libvirt
# (lvwatch.c, in libnmhooks, uses its header's numbers alone).
LIBVIRT_LIBS := $(shell pkg-config --libs libvirt 2>/dev/null)

# Modules: each a static library.  garp/, ovs/ and firewall/ have one public
# header each; netmove/ is split by role, one library per folder, and each
# program links only the ones it may call (docs/ARCHITECTURE.md "Modules"):
# a CLI file that calls into the daemon fails to link (tests/build/).
GARP_SRCS     := $(sort $(wildcard garp/*.c))
OVSMOD_SRCS   := $(sort $(wildcard ovs/*.c))
FW_SRCS       := $(sort $(wildcard firewall/*.c))
NMCOMMON_SRCS := $(sort $(wildcard netmove/common/*.c))
NMADDR_SRCS   := $(sort $(wildcard netmove/addr/*.c))
NMVERIFY_SRCS := $(sort $(wildcard netmove/verify/*.c))
# The programs' main() files stay out of the libraries.
CLI_MAIN      := netmove/cli/netmove.c
DAEMON_MAIN   := netmove/daemon/netmoved.c
NMCLI_SRCS    := $(filter-out $(CLI_MAIN),$(sort $(wildcard netmove/cli/*.c)))
NMDAEMON_SRCS := $(filter-out $(DAEMON_MAIN),$(sort $(wildcard netmove/daemon/*.c)))
# watch-libvirt: netmove execs netmove-libvirt, the same CLI with libvirt.
LIBVIRT_SRCS  := netmove/hooks/watch_libvirt.c netmove/hooks/watch_libvirt_exec.c
NMHOOKS_SRCS  := $(filter-out $(LIBVIRT_SRCS),$(sort $(wildcard netmove/hooks/*.c)))

obj = $(patsubst %.c,$(1)/obj/%.o,$(2))

# Link lines, callers first: each library may call those after it.
BASELIBS   = $(1)/libnmaddr.a $(1)/libnmverify.a $(1)/libnmcommon.a \
             $(1)/libfirewall.a $(1)/libgarp.a $(1)/libnmovs.a
CLILIBS    = $(1)/libnmhooks.a $(1)/libnmcli.a $(call BASELIBS,$(1))
DAEMONLIBS = $(1)/libnmdaemon.a $(call BASELIBS,$(1))
# Tests and tools may reach every part.
MODLIBS    = $(1)/libnmdaemon.a $(1)/libnmhooks.a $(1)/libnmcli.a $(call BASELIBS,$(1))

UNIT_SRCS  := $(sort $(wildcard tests/*/test_*.c))
UNIT_BINS  := $(patsubst %.c,$(BUILD)/%,$(UNIT_SRCS))
ASAN_BINS  := $(patsubst %.c,$(BUILD)/asan/%,$(UNIT_SRCS))
TOOL_SRCS  := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS  := $(patsubst tests/tools/%.c,$(BUILD)/%,$(TOOL_SRCS))

PROGS := $(BUILD)/netmove $(BUILD)/netmove-libvirt $(BUILD)/netmoved

.PHONY: all deps check unit demo bench clean distclean ovs tests print-cflags print-cli-link \
        install uninstall deb deb-check progs
# Keep objects: they are intermediates of the tool and test programs.
.SECONDARY:
all: $(PROGS) $(TOOL_BINS)
# The installed programs only (the Debian package builds these).
progs: $(PROGS)
tests: $(UNIT_BINS) $(ASAN_BINS) $(TOOL_BINS)

# Per-test extra link flags (for example -Wl,--wrap=sendto) live beside the test.
-include $(wildcard tests/*/*.mk)

# --- libopenvswitch, from Debian's openvswitch-source (same version as the switch) ---
ovs: $(OVS_STAMP)
$(OVS_STAMP):
	$(Q)env $(OVS_ENV) mk/build-ovs.sh "$(OVS_TARBALL)" "$(OVS_SRC)" "$(OVS_BUILD_ID)"
# A different installed version, or different flags, rebuild it.
ifneq ($(OVS_BUILD_ID),$(shell cat $(OVS_STAMP) 2>/dev/null))
.PHONY: $(OVS_STAMP)
endif
$(OVS_LIB) $(OVS_SRC)/config.h: $(OVS_STAMP)

# The compiled-in paths (netmove/common/paths.c): a build for another
# SYSCONFDIR recompiles that file.
PATHS_ID := $(BUILD)/.netmove-paths
ifneq ($(SYSCONFDIR),$(shell cat $(PATHS_ID) 2>/dev/null))
.PHONY: $(PATHS_ID)
endif
$(PATHS_ID):
	@mkdir -p $(@D)
	$(Q)echo '$(SYSCONFDIR)' > $@
$(BUILD)/obj/netmove/common/paths.o $(BUILD)/asan/obj/netmove/common/paths.o \
$(BUILD)/fuzz/obj/netmove/common/paths.o: $(PATHS_ID)

# --- objects: plain and sanitized trees ---
$(BUILD)/obj/%.o: %.c $(OVS_STAMP)
	$(quiet) CC $<
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/asan/obj/%.o: %.c $(OVS_STAMP)
	$(quiet) CC-SAN $<
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -c -o $@ $<

define module_lib
$(1)/lib$(2).a: $(call obj,$(1),$(3))
	$$(quiet) AR $$@
	@mkdir -p $$(@D)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach t,$(BUILD) $(BUILD)/asan,\
  $(eval $(call module_lib,$(t),garp,$(GARP_SRCS)))\
  $(eval $(call module_lib,$(t),nmovs,$(OVSMOD_SRCS)))\
  $(eval $(call module_lib,$(t),firewall,$(FW_SRCS)))\
  $(eval $(call module_lib,$(t),nmcommon,$(NMCOMMON_SRCS)))\
  $(eval $(call module_lib,$(t),nmaddr,$(NMADDR_SRCS)))\
  $(eval $(call module_lib,$(t),nmverify,$(NMVERIFY_SRCS)))\
  $(eval $(call module_lib,$(t),nmcli,$(NMCLI_SRCS)))\
  $(eval $(call module_lib,$(t),nmhooks,$(NMHOOKS_SRCS)))\
  $(eval $(call module_lib,$(t),nmdaemon,$(NMDAEMON_SRCS))))

$(BUILD)/netmove: $(call obj,$(BUILD),$(CLI_MAIN) netmove/hooks/watch_libvirt_exec.c) $(call CLILIBS,$(BUILD)) $(OVS_LIB)
	$(quiet) LD $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(call CLILIBS,$(BUILD)) $(OVS_LIBS) $(SYSLIBS)

$(BUILD)/netmove-libvirt: $(call obj,$(BUILD),$(CLI_MAIN) netmove/hooks/watch_libvirt.c) $(call CLILIBS,$(BUILD)) $(OVS_LIB)
	$(quiet) LD $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(call CLILIBS,$(BUILD)) $(OVS_LIBS) $(SYSLIBS) $(LIBVIRT_LIBS)

$(BUILD)/netmoved: $(call obj,$(BUILD),$(DAEMON_MAIN)) $(call DAEMONLIBS,$(BUILD)) $(OVS_LIB)
	$(quiet) LD $@
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(call DAEMONLIBS,$(BUILD)) $(OVS_LIBS) $(SYSLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(call MODLIBS,$(BUILD)) $(OVS_LIB)
	$(quiet) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS_$(notdir $@)) $(call MODLIBS,$(BUILD)) $(OVS_LIBS) $(SYSLIBS) -lcmocka

$(BUILD)/asan/tests/%: $(BUILD)/asan/obj/tests/%.o $(call MODLIBS,$(BUILD)/asan) $(OVS_LIB)
	$(quiet) LD-SAN $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $< $(LDFLAGS_$(notdir $@)) $(call MODLIBS,$(BUILD)/asan) $(OVS_LIBS) $(SYSLIBS) -lcmocka

# The prober needs nothing of netmove: it measures, it must not share our bugs.
$(BUILD)/nm-probe: $(BUILD)/obj/tests/tools/nm-probe.o $(OVS_LIB)
	$(quiet) LD $@
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(OVS_LIBS)

$(BUILD)/%: $(BUILD)/obj/tests/tools/%.o $(call MODLIBS,$(BUILD)) $(OVS_LIB)
	$(quiet) LD $@
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(call MODLIBS,$(BUILD)) $(OVS_LIBS) $(SYSLIBS) -lm

# What tests/build/layering.sh compiles and links a probe CLI file with.
print-cflags:
	@echo $(CPPFLAGS) $(CFLAGS)
print-cli-link:
	@echo $(call obj,$(BUILD),$(CLI_MAIN) netmove/hooks/watch_libvirt_exec.c) $(call CLILIBS,$(BUILD)) $(OVS_LIBS) $(SYSLIBS)

# --- the two commands of the README, and friends ---
deps:
	$(Q)mk/deps.sh

unit: $(UNIT_BINS) $(ASAN_BINS)
	$(Q)tests/run --unit-only

# CI runs plain 'make check': without a -j of the caller's, the build (three
# of the tree: plain, ASan, fuzz) uses every core.
CHECK_JOBS = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc))
check: deps
	$(Q)$(MAKE) --no-print-directory $(CHECK_JOBS) all tests
	$(Q)tests/run

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)netns-lab/demo

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/bench/run

# --- install (docs/INSTALL section of README.md) ---
# The daemon in sbin; the CLI and netmove-libvirt (which 'netmove
# watch-libvirt' runs from beside itself) in bin; an example configuration
# that netmoved accepts and that does nothing (no peers, no listener, no
# network); the libvirt hook as an example, not activated (HOOKS.md
# "Install"); the unit; man pages and bash completion when the tree has them
# (netmove-libvirt's page is netmove(8), a link).
# /var/lib/netmove and /run/netmove come from the unit (StateDirectory=,
# RuntimeDirectory=), not from here.
BINDIR      := $(PREFIX)/bin
SBINDIR     := $(PREFIX)/sbin
DATADIR     := $(PREFIX)/share/netmove
DOCDIR      := $(PREFIX)/share/doc/netmove
MANDIR      := $(PREFIX)/share/man
UNITDIR     ?= $(PREFIX)/lib/systemd/system
COMPLDIR    := $(PREFIX)/share/bash-completion/completions
MAN_PAGES   := $(wildcard docs/man/*.[1-9])
COMPLETION  := $(wildcard netmove/cli/netmove.bash-completion)
INSTALL     ?= install

install: $(PROGS)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(SYSCONFDIR)/netmove $(DESTDIR)$(DATADIR)/hooks \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR)
	$(INSTALL) -m 755 $(BUILD)/netmove $(BUILD)/netmove-libvirt $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 755 $(BUILD)/netmoved $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 644 netmove/daemon/netmoved.json.example \
		$(DESTDIR)$(DATADIR)/netmoved.json.example
	@# The operator's configuration is never overwritten: the example goes
	@# to SYSCONFDIR only where there is none.
	[ -e $(DESTDIR)$(SYSCONFDIR)/netmove/netmoved.json ] || \
		$(INSTALL) -m 644 netmove/daemon/netmoved.json.example \
			$(DESTDIR)$(SYSCONFDIR)/netmove/netmoved.json
	$(INSTALL) -m 755 netmove/hooks/libvirt-qemu $(DESTDIR)$(DATADIR)/hooks/libvirt-qemu
	$(INSTALL) -m 644 README.md netmove/hooks/HOOKS.md $(DESTDIR)$(DOCDIR)/
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		netmove/daemon/netmoved.service.in > $(DESTDIR)$(UNITDIR)/netmoved.service
	chmod 644 $(DESTDIR)$(UNITDIR)/netmoved.service
	$(foreach m,$(MAN_PAGES),$(INSTALL) -D -m 644 $(m) \
		$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)) &&) true
	$(if $(filter docs/man/netmove.8,$(MAN_PAGES)),ln -sf netmove.8 $(DESTDIR)$(MANDIR)/man8/netmove-libvirt.8)
	$(if $(COMPLETION),$(INSTALL) -D -m 644 $(COMPLETION) $(DESTDIR)$(COMPLDIR)/netmove)

uninstall:
	@# The configuration only if it is still the example (an operator's
	@# stays, as a package's conffile does on removal).
	! cmp -s netmove/daemon/netmoved.json.example \
		$(DESTDIR)$(SYSCONFDIR)/netmove/netmoved.json || \
		rm -f $(DESTDIR)$(SYSCONFDIR)/netmove/netmoved.json
	rm -f $(DESTDIR)$(BINDIR)/netmove $(DESTDIR)$(BINDIR)/netmove-libvirt \
		$(DESTDIR)$(SBINDIR)/netmoved \
		$(DESTDIR)$(DATADIR)/netmoved.json.example \
		$(DESTDIR)$(DATADIR)/hooks/libvirt-qemu \
		$(DESTDIR)$(DOCDIR)/README.md $(DESTDIR)$(DOCDIR)/HOOKS.md \
		$(DESTDIR)$(UNITDIR)/netmoved.service $(DESTDIR)$(COMPLDIR)/netmove \
		$(foreach m,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m))) \
		$(DESTDIR)$(MANDIR)/man8/netmove-libvirt.8
	-rmdir $(DESTDIR)$(SYSCONFDIR)/netmove $(DESTDIR)$(DATADIR)/hooks \
		$(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR) 2>/dev/null

# --- the Debian package (debian/): dpkg-buildpackage writes into the parent
# directory; the files are moved to build/deb/.  The package is built from
# this tree as it is (its own libopenvswitch in build/ovs is reused when its
# stamp matches, as in any build here).
DEB_DIR := $(BUILD)/deb
deb:
	$(Q)mk/deb.sh $(DEB_DIR)

deb-check: deb
	$(Q)tests/pkg/deb.sh $(DEB_DIR)

clean:
	rm -rf $(BUILD)/obj $(BUILD)/asan $(BUILD)/tests $(BUILD)/lib*.a $(PROGS) $(TOOL_BINS) \
		$(PATHS_ID) $(DEB_DIR) $(BUILD)/deb-src $(BUILD)/deb.log $(BUILD)/debian

distclean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/asan -name '*.d' 2>/dev/null)

# --- fuzz targets (tests/fuzz): libFuzzer, clang, a tree of their own ---
# netmove's objects built by clang with -fsanitize=fuzzer-no-link,address,
# undefined; libopenvswitch.a (gcc) linked as it is.  'make tests' builds
# them when clang is there; tests/build/fuzz.sh replays the corpus and runs
# a fixed, seeded number of executions; 'make fuzz' runs each target
# FUZZ_SECONDS (new inputs and crashes under build/fuzz/).
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=all -fno-omit-frame-pointer
# clang warns where gcc does not: OVS's VLOG macros compare an int with an
# enum (-Wsign-compare), and two v*printf wrappers lack a format attribute
# (-Wformat-nonliteral, cli/cli.c and garp/parse.c).  The gcc build keeps
# both warnings as errors.
FUZZ_CFLAGS  := -O1 -g -std=gnu11 $(WARN) -Wno-sign-compare -Wno-format-nonliteral \
                -MMD -MP -fno-strict-aliasing $(FUZZ_SAN)
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
HAVE_FUZZ_CC := $(shell command -v $(FUZZ_CC) 2>/dev/null)

.PHONY: fuzz clean-fuzz
ifneq ($(HAVE_FUZZ_CC),)
tests: $(FUZZ_BINS)
endif

$(BUILD)/fuzz/obj/%.o: %.c $(OVS_STAMP)
	$(quiet) CC-FUZZ $<
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<

$(eval $(call module_lib,$(BUILD)/fuzz,garp,$(GARP_SRCS)))
$(eval $(call module_lib,$(BUILD)/fuzz,nmovs,$(OVSMOD_SRCS)))
$(eval $(call module_lib,$(BUILD)/fuzz,firewall,$(FW_SRCS)))
$(eval $(call module_lib,$(BUILD)/fuzz,nmcommon,$(NMCOMMON_SRCS)))
$(eval $(call module_lib,$(BUILD)/fuzz,nmaddr,$(NMADDR_SRCS)))
$(eval $(call module_lib,$(BUILD)/fuzz,nmverify,$(NMVERIFY_SRCS)))
$(eval $(call module_lib,$(BUILD)/fuzz,nmcli,$(NMCLI_SRCS)))
$(eval $(call module_lib,$(BUILD)/fuzz,nmhooks,$(NMHOOKS_SRCS)))
$(eval $(call module_lib,$(BUILD)/fuzz,nmdaemon,$(NMDAEMON_SRCS)))

$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/obj/tests/fuzz/fuzz_%.o $(call MODLIBS,$(BUILD)/fuzz) $(OVS_LIB)
	$(quiet) LD-FUZZ $@
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(call MODLIBS,$(BUILD)/fuzz) $(OVS_LIBS) $(SYSLIBS)

fuzz: $(FUZZ_BINS)
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run

clean: clean-fuzz
clean-fuzz:
	rm -rf $(BUILD)/fuzz

-include $(shell find $(BUILD)/fuzz -name '*.d' 2>/dev/null)
