#pragma once
// A throwaway certificate authority for TLS tests, made with the OpenSSL API (no `openssl`
// binary needed): a CA certificate and leaf certificates for the names a test asks for.

#include <string>
#include <vector>

namespace simpul::test {

struct TestPki {
  std::string ca_file;    // PEM, the CA certificate: what a client trusts
  std::string cert_file;  // PEM, the leaf certificate followed by nothing else
  std::string key_file;   // PEM, the leaf's private key
};

// Writes <dir>/<prefix>-ca.pem, -cert.pem, -key.pem. `names` go into subjectAltName: IP
// addresses as iPAddress, anything else as dNSName. Valid from an hour ago for a day.
TestPki make_test_pki(const std::string& dir, const std::string& prefix,
                      const std::vector<std::string>& names);

}  // namespace simpul::test
