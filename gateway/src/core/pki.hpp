#pragma once
// The federation's certificates (OpenSSL): a small certificate authority kept in a folder, the
// node certificates it issues, renews and revokes, and what a certificate says about the node
// that presents it. A node certificate names its node id in a URI subject alternative name,
// `urn:simpul:node:<id>` (docs/operations.md, "Node certificates"); it may also carry DNS names
// and IP addresses so the same certificate serves the node's own listener.
//
// The folder (`simpul pki ca --dir DIR`):
//   ca.pem, ca.key      the authority's certificate and its EC P-256 key (0600)
//   issued/SERIAL.pem   every certificate it issued
//   revoked.txt         "SERIAL UNIX-SECONDS" per revoked certificate
//   crl.pem             the revocation list a parent loads (http.tls.client_crl_file), signed by
//                       the authority, rewritten on every revocation
//
// Functions that make or change files throw std::runtime_error naming the file and the reason;
// a failed call leaves the files as they were (each file is written aside, then renamed).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "simpul/model.hpp"

struct x509_st;  // OpenSSL's X509

namespace simpul::pki {

inline constexpr std::string_view kNodeUri = "urn:simpul:node:";

struct CertificateInfo {
  std::string subject;  // one line, e.g. "CN=kota-batam"
  std::string issuer;
  std::string serial;  // upper-case hex
  std::string node;    // from the urn:simpul:node: name ("" when it names none)
  std::vector<std::string> dns, ips;
  TimeMs not_before = 0, not_after = 0;
  bool authority = false;  // basicConstraints CA:TRUE
};

// What a certificate in OpenSSL's hands says.
CertificateInfo inspect(x509_st* cert);

// Every certificate in a PEM file (a bundle may hold several); throws when the file cannot be
// read or holds none.
std::vector<CertificateInfo> read_certificates(const std::string& pem_file);
// The first one.
CertificateInfo read_certificate(const std::string& pem_file);
// The serial numbers a CRL file lists, with their revocation times.
struct Revoked {
  std::string serial;
  TimeMs at = 0;
};
std::vector<Revoked> read_crl(const std::string& pem_file);

// Whether `id` can be a node id in a certificate: lower-case letters, digits and '-', 1-64.
bool valid_node_id(std::string_view id);

// A new authority in `dir` (created 0700; refused when it already holds one).
CertificateInfo create_authority(const std::string& dir, const std::string& name, int days,
                                 TimeMs now);

struct Issue {
  std::string node;
  std::vector<std::string> dns, ips;  // for a certificate the node's listener also uses
  TimeMs not_before = 0, not_after = 0;
};
// A new key and certificate for `req.node`, written to cert_file and key_file (0600).
CertificateInfo issue(const std::string& dir, const Issue& req, const std::string& cert_file,
                      const std::string& key_file);
// A new key and certificate with the same names as the one in cert_file, valid for `days` from
// `now`, written over cert_file and key_file (a running node takes them on SIGHUP).
CertificateInfo renew(const std::string& dir, const std::string& cert_file,
                      const std::string& key_file, int days, TimeMs now);

struct Issued {
  CertificateInfo cert;
  std::optional<TimeMs> revoked_at;
};
std::vector<Issued> issued(const std::string& dir);  // oldest first
// Adds the serial (upper- or lower-case hex; it must be one this authority issued) to the
// revoked list and writes crl.pem again. Revoking one already revoked changes nothing.
void revoke(const std::string& dir, const std::string& serial, TimeMs now);
std::string crl_file(const std::string& dir);
std::string authority_file(const std::string& dir);

}  // namespace simpul::pki
