/* ovs: the in-memory form of a port document (internal to the module and
 * its tests).  See ovs/README.md for the JSON form. */
#ifndef NETMOVE_OVS_PORT_DOC_PRIVATE_H
#define NETMOVE_OVS_PORT_DOC_PRIVATE_H 1

#include <stddef.h>
#include <stdint.h>

#include "smap.h"

/* A QoS queue: Queue row, keyed by its queue number in QoS:queues. */
struct nmovs_queue {
    int64_t id;                 /* Key in QoS:queues, 0..4294967295. */
    int64_t dscp;               /* -1: unset. */
    struct smap other_config;
    struct smap external_ids;
};

/* A QoS row, referenced by the Port. */
struct nmovs_qos {
    char *type;
    struct smap other_config;
    struct smap external_ids;
    struct nmovs_queue *queues;
    size_t n_queues;
};

/* An Interface row. */
struct nmovs_iface {
    char *name;
    char *type;                 /* "" for a system device. */
    struct smap options;
    struct smap external_ids;
    struct smap other_config;
    int64_t mtu_request;        /* 0: unset. */
    int64_t ingress_policing_rate;
    int64_t ingress_policing_burst;
    int64_t ofport_request;     /* 0: unset. */
};

/* A Port row and the bridge that holds it. */
struct nmovs_port {
    char *bridge;
    char *name;
    int64_t tag;                /* -1: unset. */
    int64_t *trunks;
    size_t n_trunks;
    char *vlan_mode;            /* NULL: unset. */
    struct smap external_ids;
    struct smap other_config;
    struct nmovs_qos *qos;      /* NULL: none. */
    struct nmovs_iface *ifaces;
    size_t n_ifaces;
};

/* One VM's ports. */
struct nmovs_doc {
    char *vm;
    struct nmovs_port *ports;
    size_t n_ports;
};

/* Empty document for 'vm', for the exporter to fill. */
struct nmovs_doc *nmovs_doc_create(const char *vm);

/* Appends a port with no interfaces, every column unset, and returns it. */
struct nmovs_port *nmovs_doc_add_port(struct nmovs_doc *, const char *bridge,
                                      const char *name);

/* Appends an interface named 'name' of type "" to 'port' and returns it. */
struct nmovs_iface *nmovs_port_add_iface(struct nmovs_port *,
                                         const char *name);

#endif /* ovs/port-doc-private.h */
