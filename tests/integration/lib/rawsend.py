"""Sends hand-made Ethernet frames out of an interface (AF_PACKET), to
exercise weir-dp's refusal of malformed input. Run inside the client
namespace: rawsend.py IFACE DST_MAC SRC_IP DST_IP KIND COUNT
KIND is one of the names in KINDS (or 'list'). Stdlib only."""
import socket
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(a):
    return socket.inet_aton(a)


def ipv4(src, dst, payload, proto=1, ttl=64, ihl=5, ver=4, tot=None, frag=0,
         bad_csum=False, opts=b""):
    tot = 20 + len(opts) + len(payload) if tot is None else tot
    h = struct.pack("!BBHHHBBH4s4s", ver << 4 | ihl, 0, tot, 1, frag, ttl, proto, 0,
                    ip4(src), ip4(dst)) + opts
    c = csum(h)
    if bad_csum:
        c ^= 0x5A5A
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def icmp_echo(typ=8, code=0, data=b"weir" * 8, bad=False):
    h = struct.pack("!BBHHH", typ, code, 0, 0x4242, 1) + data
    c = csum(h) ^ (0x1111 if bad else 0)
    return h[:2] + struct.pack("!H", c) + h[4:]


def arp(op=1, htype=1, ptype=0x0800, hlen=6, plen=4, sha=b"\x02\0\0\0\0\x02",
        spa="10.77.0.2", tpa="10.77.0.10"):
    return struct.pack("!HHBBH6s4s6s4s", htype, ptype, hlen, plen, op, sha, ip4(spa),
                       b"\0" * 6, ip4(tpa))


def frames(dst_mac, src_mac, src, dst):
    eth = lambda t, d=dst_mac, s=src_mac: d + s + struct.pack("!H", t)
    E4, EA = eth(0x0800), eth(0x0806)
    ping = icmp_echo()
    return {
        # Ethernet
        "eth_not_for_us": eth(0x0800, d=b"\x02\x99\x99\x99\x99\x99") + ipv4(src, dst, ping),
        "eth_ipv6": eth(0x86DD) + b"\x60" + b"\0" * 39,
        "eth_vlan": eth(0x8100) + b"\x00\x01\x08\x00" + ipv4(src, dst, ping),
        # ARP
        "arp_runt": EA + arp()[:20],
        "arp_bad_htype": EA + arp(htype=6),
        "arp_bad_ptype": EA + arp(ptype=0x86DD),
        "arp_bad_len": EA + arp(hlen=8),
        "arp_bad_op": EA + arp(op=3),
        "arp_bad_sender": EA + arp(spa=dst),
        "arp_not_for_us": EA + arp(tpa="10.77.0.99"),
        # IPv4
        "ip_runt": E4 + ipv4(src, dst, ping)[:12],
        "ip_bad_version": E4 + ipv4(src, dst, ping, ver=6),
        "ip_bad_ihl": E4 + ipv4(src, dst, ping, ihl=4),
        "ip_bad_totlen": E4 + ipv4(src, dst, ping, tot=16),
        "ip_truncated": E4 + ipv4(src, dst, ping, tot=1400),
        "ip_bad_csum": E4 + ipv4(src, dst, ping, bad_csum=True),
        # fragments weir-dp refuses before reassembly (RFC 791 3.2)
        "ip_frag_empty": E4 + ipv4(src, dst, b"", frag=0x2000),
        "ip_frag_unaligned": E4 + ipv4(src, dst, ping[:13], frag=0x2000),
        "ip_frag_past_64k": E4 + ipv4(src, dst, ping, frag=0x1ffc),
        "ip_ttl_zero": E4 + ipv4(src, dst, ping, ttl=0),
        "ip_src_multicast": E4 + ipv4("224.0.0.5", dst, ping),
        "ip_src_loopback": E4 + ipv4("127.0.0.1", dst, ping),
        "ip_dst_not_ours": E4 + ipv4(src, "10.77.0.99", ping),
        "ip_udp": E4 + ipv4(src, dst, struct.pack("!HHHH", 5000, 53, 8, 0), proto=17),
        # ICMP
        "icmp_runt": E4 + ipv4(src, dst, b"\x08\x00\xf7"),
        "icmp_bad_csum": E4 + ipv4(src, dst, icmp_echo(bad=True)),
        "icmp_timestamp": E4 + ipv4(src, dst, icmp_echo(typ=13)),
        # A valid ping (the control case: must be answered, not dropped)
        "valid_ping": E4 + ipv4(src, dst, ping),
    }


def main():
    iface, dst_mac, src, dst, kind, count = sys.argv[1:7]
    src_mac = open("/sys/class/net/%s/address" % iface).read().strip()
    fr = frames(bytes.fromhex(dst_mac.replace(":", "")),
                bytes.fromhex(src_mac.replace(":", "")), src, dst)
    if kind == "list":
        print(" ".join(fr))
        return
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for _ in range(int(count)):
        s.send(fr[kind])


if __name__ == "__main__":
    main()
