/* garp: one VM's announcement, validated and built into its set of
 * frames (the same frames go out in every round). */
#include "garp/garp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "packets.h"

#include "garp/garp-private.h"

int
garp_vm_validate(const struct garp_vm *vm, char *err, size_t errlen)
{
    char buf[INET6_ADDRSTRLEN];

    if (eth_addr_is_zero(vm->mac) || eth_addr_is_multicast(vm->mac)) {
        return garp_err(err, errlen, "mac: "ETH_ADDR_FMT" is not a unicast "
                        "MAC a VM can own", ETH_ADDR_ARGS(vm->mac));
    }
    for (size_t i = 0; i < vm->n_ipv4; i++) {
        uint32_t h = ntohl(vm->ipv4[i]);

        if (!h || h == UINT32_MAX || ip_is_multicast(vm->ipv4[i])) {
            return garp_err(err, errlen, "ip: "IP_FMT" is not a unicast "
                            "IPv4 address", IP_ARGS(vm->ipv4[i]));
        }
    }
    for (size_t i = 0; i < vm->n_ipv6; i++) {
        if (ipv6_is_zero(&vm->ipv6[i])
            || ipv6_addr_is_multicast(&vm->ipv6[i])) {
            return garp_err(err, errlen, "ip: %s is not a unicast IPv6 "
                            "address", garp_addr_format(&vm->ipv6[i], buf,
                                                        sizeof buf));
        }
    }
    if (vm->vlan.vid > 4094) {
        return garp_err(err, errlen, "vlan: %u is not a VLAN id (1 to 4094)",
                        vm->vlan.vid);
    }
    if (vm->vlan.pcp > 7 || (vm->vlan.pcp && !vm->vlan.vid)) {
        return garp_err(err, errlen, "pcp: %u is not a priority (0 to 7, "
                        "with a VLAN)", vm->vlan.pcp);
    }
    if (vm->kinds & ~GARP_F_ALL) {
        return garp_err(err, errlen, "kinds: unknown kind bits %#x",
                        vm->kinds & ~GARP_F_ALL);
    }
    return 0;
}

unsigned int
garp_vm_kinds(const struct garp_vm *vm)
{
    if (vm->kinds) {
        return vm->kinds;
    }
    return GARP_F_RARP
           | (vm->n_ipv4 ? GARP_F_GARP : 0)
           | (vm->n_ipv6 || vm->link_local ? GARP_F_NA : 0);
}

int
garp_vm_frames(const struct garp_vm *vm, struct garp_frame **framesp,
               size_t *np, char *err, size_t errlen)
{
    unsigned int kinds = garp_vm_kinds(vm);
    struct garp_frame *frames, *f;
    size_t max, len;
    int error;

    *framesp = NULL;
    *np = 0;
    error = garp_vm_validate(vm, err, errlen);
    if (error) {
        return error;
    }
    max = 1 + vm->n_ipv4 + vm->n_ipv6 + 1;
    frames = f = calloc(max, sizeof *frames);
    if (!frames) {
        return -ENOMEM;
    }
    if (kinds & GARP_F_RARP) {
        error = garp_build_rarp(f->data, sizeof f->data, vm->mac, &vm->vlan,
                                &len);
        f->kind = GARP_KIND_RARP;
        f->len = len;
        f++;
    }
    for (size_t i = 0; !error && kinds & GARP_F_GARP && i < vm->n_ipv4; i++) {
        error = garp_build_arp(f->data, sizeof f->data, vm->mac, vm->ipv4[i],
                               vm->arp_reply, &vm->vlan, &len);
        f->kind = GARP_KIND_GARP;
        f->len = len;
        garp_addr_from_ipv4(vm->ipv4[i], &f->addr);
        f++;
    }
    for (size_t i = 0; kinds & GARP_F_NA && i <= vm->n_ipv6; i++) {
        if (error || (i == vm->n_ipv6 && !vm->link_local)) {
            break;
        }
        if (i < vm->n_ipv6) {
            f->addr = vm->ipv6[i];
        } else {
            in6_generate_lla(vm->mac, &f->addr);
        }
        error = garp_build_na(f->data, sizeof f->data, vm->mac, &f->addr,
                              vm->na_router, &vm->vlan, &len);
        f->kind = GARP_KIND_NA;
        f->len = len;
        f++;
    }
    if (error) {
        free(frames);
        return garp_errno(error, err, errlen, "frame: cannot build (%s)",
                          strerror(-error));
    }
    if (f == frames) {
        free(frames);
        return garp_err(err, errlen, "kinds: nothing to announce (garp needs "
                        "an IPv4 --ip, na an IPv6 --ip)");
    }
    *framesp = frames;
    *np = f - frames;
    return 0;
}
