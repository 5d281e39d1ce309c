#!/usr/bin/env perl
# Sends Dory messages with only Perl's core modules, as Dory's example clients do.
# usage: send.pl dgram|stream|tcp PATH_OR_PORT TOPIC COUNT PREFIX BASE_TIMESTAMP
# Message i: value PREFIX-i, key k<i> for odd i (none for even), timestamp BASE_TIMESTAMP + i;
# even i are AnyPartition (api key 256), odd i PartitionKey (api key 257) with partition key i.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Socket::UNIX;
use Socket qw(SOCK_DGRAM SOCK_STREAM);

my ($kind, $where, $topic, $count, $prefix, $base) = @ARGV;

sub message {
    my ($i) = @_;
    my $key = $i % 2 == 0 ? '' : "k$i";
    my $value = "$prefix-$i";
    my $keyed = $i % 2 == 1;
    my $body = pack('s> s> s>', $keyed ? 257 : 256, 0, 0);
    $body .= pack('N', $i) if $keyed;
    $body .= pack('s>', length $topic) . $topic . pack('q>', $base + $i);
    $body .= pack('l>', length $key) . $key . pack('l>', length $value) . $value;
    return pack('l>', length($body) + 4) . $body;
}

if ($kind eq 'dgram') {
    my $sock = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Peer => $where) or die "connect $where: $!";
    for my $i (0 .. $count - 1) {
        defined $sock->send(message($i)) or die "send: $!";
    }
    close $sock;
} else {
    my $sock = $kind eq 'stream'
        ? IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $where)
        : IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $where, Proto => 'tcp');
    die "connect $where: $!" unless $sock;
    print {$sock} join('', map { message($_) } 0 .. $count - 1) or die "write: $!";
    close $sock or die "close: $!";
}
print "sent $count\n";
