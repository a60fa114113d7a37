# Per-test link flags: libpcap wrapped at the edge (tests/garp/test_*.c).
PCAP_WRAP := -Wl,--wrap=pcap_create -Wl,--wrap=pcap_activate \
             -Wl,--wrap=pcap_setfilter
LDFLAGS_test_pcap_sender := $(PCAP_WRAP) -Wl,--wrap=pcap_inject
LDFLAGS_test_capture := $(PCAP_WRAP) -Wl,--wrap=pcap_setnonblock \
                        -Wl,--wrap=pcap_dispatch
LDFLAGS_test_claim_capture := $(PCAP_WRAP) -Wl,--wrap=pcap_setnonblock \
                              -Wl,--wrap=pcap_setdirection \
                              -Wl,--wrap=pcap_dispatch
