/**
 * TEST-ONLY certificate material for the capture server of `@x/sendmail/testing`.
 *
 * ⚠️ THE PRIVATE KEY BELOW IS PUBLIC. It is published with this package, so
 * anyone can impersonate a server that uses it. Never trust `TEST_CA_CERT`
 * outside of tests, and never use this certificate for anything but a test
 * server on a loopback address. (The CA's own key was not kept, but a client
 * that trusts this CA trusts every server holding the leaf key below.)
 *
 * A small CA ("@x/sendmail test CA (TEST ONLY, key is public)") signed a leaf
 * certificate for `localhost`, `127.0.0.1` and `::1` (subjectAltName,
 * basicConstraints CA:FALSE, extendedKeyUsage serverAuth), both valid from
 * 2000-01-01 to 2126-01-01 so that a wrong clock does not break tests. A CA
 * plus a leaf, not one self-signed certificate, because rustls (Deno's TLS)
 * refuses a CA certificate used as the end entity. Clients trust it by passing
 * `TEST_CA_CERT` (exposed as `TestServer.caCert`) in `caCerts`.
 *
 * Made with `openssl ca` (`-startdate 20000101000000Z -enddate
 * 21260101000000Z`): P-256 keys, the CA with
 * `basicConstraints=critical,CA:TRUE,pathlen:0`, the leaf with the extensions
 * above.
 *
 * @module
 */

/** The test CA certificate (PEM): what clients trust. TEST-ONLY. */
export const TEST_CA_CERT: string = `-----BEGIN CERTIFICATE-----
MIIBqTCCAU+gAwIBAgICEAAwCgYIKoZIzj0EAwIwOTE3MDUGA1UEAwwuQHgvc2Vu
ZG1haWwgdGVzdCBDQSAoVEVTVCBPTkxZLCBrZXkgaXMgcHVibGljKTAgFw0wMDAx
MDEwMDAwMDBaGA8yMTI2MDEwMTAwMDAwMFowOTE3MDUGA1UEAwwuQHgvc2VuZG1h
aWwgdGVzdCBDQSAoVEVTVCBPTkxZLCBrZXkgaXMgcHVibGljKTBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABBxO65InQA2ylyDA6HZnR0ZYvRltQfquJClSTMPUeULk
ZZFNokm/l77rxsZn/rIChdsFxQANt8N0OdKRFwP5ULOjRTBDMBIGA1UdEwEB/wQI
MAYBAf8CAQAwDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBR052bmEw1RvG990IiY
+FAqA4txazAKBggqhkjOPQQDAgNIADBFAiEA7kdDcrACtpc7lHMxEERzvM6U+V4k
Dqkr17XVlTCW0McCIB9zzzUY3URN7ikv8h+AlIJ7oN9DrNr7jDuEbke5h+Dv
-----END CERTIFICATE-----
`;

/** The leaf certificate for localhost, 127.0.0.1 and ::1 (PEM). TEST-ONLY. */
export const TEST_SERVER_CERT: string = `-----BEGIN CERTIFICATE-----
MIIB4zCCAYqgAwIBAgICEAEwCgYIKoZIzj0EAwIwOTE3MDUGA1UEAwwuQHgvc2Vu
ZG1haWwgdGVzdCBDQSAoVEVTVCBPTkxZLCBrZXkgaXMgcHVibGljKTAgFw0wMDAx
MDEwMDAwMDBaGA8yMTI2MDEwMTAwMDAwMFowFDESMBAGA1UEAwwJbG9jYWxob3N0
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEUvKLE6eUqU1F4l179D2uw0p8Y/dl
Q9ZNAEVHFeRkH3sKmkVivSoGv7l2sZ+Hf1PWxZhI9+RUaWreEA+PgCrJWqOBpDCB
oTAMBgNVHRMBAf8EAjAAMA4GA1UdDwEB/wQEAwIFoDATBgNVHSUEDDAKBggrBgEF
BQcDATAsBgNVHREEJTAjgglsb2NhbGhvc3SHBH8AAAGHEAAAAAAAAAAAAAAAAAAA
AAEwHQYDVR0OBBYEFE158ghZ30Cup2hcifsGLM57ggHvMB8GA1UdIwQYMBaAFHTn
ZuYTDVG8b33QiJj4UCoDi3FrMAoGCCqGSM49BAMCA0cAMEQCIBMEpQvS0Y+PJGBx
Zq4YpG1gPyZtVJyx3ml4U1CnvlMrAiBdLrh5P6wjdwm4IZdPFBxEICk4rfA0QMut
oGLEpoey5w==
-----END CERTIFICATE-----
`;

/** The leaf certificate's private key (PKCS#8 PEM). PUBLIC, TEST-ONLY. */
export const TEST_SERVER_KEY: string = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgVu8OTzzwccaVEQxc
yf4e3nJKjufTH+cabkvpm49Ig7ehRANCAARS8osTp5SpTUXiXXv0Pa7DSnxj92VD
1k0ARUcV5GQfewqaRWK9Kga/uXaxn4d/U9bFmEj35FRpat4QD4+AKsla
-----END PRIVATE KEY-----
`;
