#!/usr/bin/env python3
"""Sends Dory messages with only Python's standard library, as Dory's example clients do.

usage: send.py dgram|stream|tcp PATH_OR_PORT TOPIC COUNT PREFIX BASE_TIMESTAMP
       send.py raw-dgram PATH < frames    (one datagram per line of hex, as given: for fuzzing)
Message i: value PREFIX-i, key k<i> for odd i (none for even), timestamp BASE_TIMESTAMP + i;
even i are AnyPartition (api key 256), odd i PartitionKey (api key 257) with partition key i.
"""
import socket
import struct
import sys


def message(topic, i, prefix, base):
    topic_bytes = topic.encode()
    key = b'' if i % 2 == 0 else ('k%d' % i).encode()
    value = ('%s-%d' % (prefix, i)).encode()
    keyed = i % 2 == 1
    body = struct.pack('>hhh', 257 if keyed else 256, 0, 0)
    if keyed:
        body += struct.pack('>I', i)
    body += struct.pack('>h', len(topic_bytes)) + topic_bytes + struct.pack('>q', base + i)
    body += struct.pack('>i', len(key)) + key + struct.pack('>i', len(value)) + value
    return struct.pack('>i', len(body) + 4) + body


def main():
    if sys.argv[1] == 'raw-dgram':
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sent = 0
        for line in sys.stdin:
            sock.sendto(bytes.fromhex(line.strip()), sys.argv[2])
            sent += 1
        print('sent %d' % sent)
        return
    kind, where, topic, count, prefix, base = sys.argv[1:7]
    count, base = int(count), int(base)
    if kind == 'dgram':
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        for i in range(count):
            sock.sendto(message(topic, i, prefix, base), where)
    else:
        if kind == 'stream':
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(where)
        else:
            sock = socket.create_connection(('127.0.0.1', int(where)))
        sock.sendall(b''.join(message(topic, i, prefix, base) for i in range(count)))
    sock.close()
    print('sent %d' % count)


main()
