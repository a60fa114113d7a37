/* A VM's addresses, as netmove is allowed to announce them (docs/DESIGN.md
 * "Identity and ownership"): per interface of its port document, the MAC in
 * external_ids:attached-mac and the IPs in external_ids:ip-addresses
 * (space-separated), plus IPs the operator gives explicitly. */
#ifndef NETMOVE_VMADDR_H
#define NETMOVE_VMADDR_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openvswitch/compiler.h"
#include "packets.h"

struct json;
struct ct_filter;
struct nm_config;
struct nm_network;

struct nm_iface_addrs {
    char *port;                 /* The OVS interface the VM sends from. */
    uint32_t ofport;            /* Its OpenFlow port here, 0 if unknown. */
    unsigned int announced;     /* GARP_F_* kinds handed to the announcer. */
    struct eth_addr mac;
    ovs_be32 *ipv4;
    size_t n_ipv4;
    struct in6_addr *ipv6;
    size_t n_ipv6;
};

struct nm_vm_addrs {
    struct nm_iface_addrs *ifaces;
    size_t n_ifaces;
};

/* Fills 'addrs' from port document 'doc' (JSON, as nmovs_doc_to_json()
 * writes it) and the 'n_extra' IP strings of 'extra' (added to the first
 * interface).  An interface without a valid attached-mac is skipped.
 * Returns 0 or -EINVAL with the field in 'err'. */
int nm_vm_addrs_from_doc(const struct json *doc, char *const *extra,
                         size_t n_extra, struct nm_vm_addrs *addrs,
                         char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* The most addresses of one family an interface may have learned. */
#define NM_LEARNED_MAX 16

/* Adds the addresses learned from the VM's own ARP/ND on the source
 * ('learned', as an export carries it: [{"mac": MAC, "ips": [IP...]}], one
 * entry an interface) to the interfaces of 'addrs' with those MACs; an
 * address already there is not added twice.  It is a peer's document: a
 * MAC that is not one of the VM's interfaces or comes twice, an address
 * that does not parse, or more than NM_LEARNED_MAX of a family for an
 * interface is refused (-EINVAL, the field named in 'err', 'addrs'
 * unchanged). */
int nm_vm_addrs_add_learned(struct nm_vm_addrs *addrs,
                            const struct json *learned,
                            char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Checks that 'addrs' may be announced under configuration 'cfg': every
 * MAC unicast and not never-announce, every IP address of interface 'i'
 * inside the prefixes of network 'nets[i]' (NULL: any configured network)
 * and not never-announce (nm_config_check_ip(); a version 1 configuration
 * bounds no IP address).  Only what 'known' (NULL: nothing; the same
 * interfaces in the same order) lacks is checked.  Returns 0, or -EINVAL
 * with "FIELD: REASON" in 'err' ('field' names where the addresses came
 * from: "export: port: ip-addresses"). */
int nm_vm_addrs_check(const struct nm_vm_addrs *addrs,
                      const struct nm_vm_addrs *known,
                      const struct nm_config *cfg,
                      const struct nm_network *const *nets,
                      const char *field, char *err, size_t errlen)
    OVS_WARN_UNUSED_RESULT;

/* Every address of 'addrs' (IPv4 mapped or IPv6), with the interface
 * that has it: malloc'd arrays in '*ipsp' and '*ifacesp' (indexes into
 * addrs->ifaces); returns how many. */
size_t nm_vm_addrs_list(const struct nm_vm_addrs *addrs,
                        struct in6_addr **ipsp, size_t **ifacesp);

/* True if interface 'i' of 'addrs' has address 'ip' (IPv4 mapped or
 * IPv6). */
bool nm_vm_addrs_has(const struct nm_vm_addrs *addrs, size_t i,
                     const struct in6_addr *ip);

/* Removes address 'ip' (IPv4 mapped or IPv6) from interface 'i'. */
void nm_vm_addrs_remove(struct nm_vm_addrs *addrs, size_t i,
                        const struct in6_addr *ip);

void nm_vm_addrs_destroy(struct nm_vm_addrs *);

/* A conntrack filter for every IP of 'addrs' (free with free(f->addrs)). */
void nm_vm_addrs_ct_filter(const struct nm_vm_addrs *, struct ct_filter *f);

/* [{"mac": MAC, "ips": [IP...]}] for each interface of 'addrs' with an
 * address that the same interface of 'except' (NULL: none) lacks: an
 * export's "learned" member (nm_vm_addrs_add_learned() reads it). */
struct json *nm_vm_addrs_ips_json(const struct nm_vm_addrs *addrs,
                                  const struct nm_vm_addrs *except);

/* The addresses as JSON, for journals and reports. */
struct json *nm_vm_addrs_to_json(const struct nm_vm_addrs *);

#endif /* netmove/addr/vmaddr.h */
