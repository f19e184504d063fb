#!/usr/bin/perl
# An independent SCRAM implementation for the tests: Perl's Authen::SCRAM
# (Debian's libauthen-scram-perl), speaking base64 lines on stdin/stdout.
#
#   scram_oracle.pl server DIGEST USER PASSWORD ITERATIONS
#     reads client-first, writes server-first; reads client-final, writes
#     server-final, or "ERROR <reason>" when the proof is refused.
#   scram_oracle.pl client DIGEST USER PASSWORD
#     writes client-first; reads server-first, writes client-final; reads
#     server-final, writes "OK" or "ERROR <reason>".
#
# DIGEST is SHA-256 or SHA-1; USER and PASSWORD are base64 of their UTF-8.
use strict;
use warnings;
use Authen::SCRAM::Client;
use Authen::SCRAM::Server;
use Encode qw(decode_utf8 encode_utf8);
use MIME::Base64 qw(decode_base64 encode_base64);
use Try::Tiny;

$| = 1;
my ($mode, $digest, $user64, $pass64, $iterations) = @ARGV;
my $user = decode_utf8(decode_base64($user64));
my $pass = decode_utf8(decode_base64($pass64));

sub get {
    my $line = <STDIN>;
    defined $line or die "end of input\n";
    chomp $line;
    return decode_utf8(decode_base64($line));
}
sub put { print encode_base64(encode_utf8($_[0]), ""), "\n"; }

if ($mode eq "server") {
    my $salt = join "", map { chr int rand 256 } 1 .. 16;
    my ($stored, undef, $server_key) = Authen::SCRAM::Client->new(
        username => $user, password => $pass, digest => $digest,
    )->computed_keys($salt, $iterations);
    my $server = Authen::SCRAM::Server->new(
        digest => $digest,
        credential_cb => sub {
            my ($name) = @_;
            return $name eq $user ? ($salt, $stored, $server_key, $iterations) : ();
        },
    );
    try {
        put($server->first_msg(get()));
        put($server->final_msg(get()));
        print "USER ", encode_base64(encode_utf8($server->authorization_id), ""), "\n";
    } catch {
        (my $why = $_) =~ s/\s+/ /g;
        print "ERROR $why\n";
    };
} elsif ($mode eq "client") {
    my $client = Authen::SCRAM::Client->new(
        username => $user, password => $pass, digest => $digest,
    );
    try {
        put($client->first_msg());
        put($client->final_msg(get()));
        $client->validate(get());
        print "OK\n";
    } catch {
        (my $why = $_) =~ s/\s+/ /g;
        print "ERROR $why\n";
    };
} else {
    die "usage: $0 server|client DIGEST USER PASSWORD [ITERATIONS]\n";
}
