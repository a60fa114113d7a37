# Per-test link flags: libpcap wrapped at the edge (tests/netmove/test_*.c).
LDFLAGS_test_addrlearn := -Wl,--wrap=pcap_create -Wl,--wrap=pcap_activate \
                          -Wl,--wrap=pcap_setfilter \
                          -Wl,--wrap=pcap_setnonblock \
                          -Wl,--wrap=pcap_setdirection \
                          -Wl,--wrap=pcap_dispatch
