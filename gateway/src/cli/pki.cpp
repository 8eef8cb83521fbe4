// `simpul pki ca | issue | renew | list | revoke | trusted`: the federation's certificate
// authority and node certificates (docs/operations.md, "Node certificates").

#include "core/pki.hpp"

#include <cstdio>

#include "cli/command.hpp"
#include "node/uplinks.hpp"

namespace simpul::cli {
namespace {

constexpr TimeMs kDay = 86'400'000;

std::string days_left(TimeMs not_after, TimeMs now) {
  const TimeMs left = not_after - now;
  if (left < 0) return "expired";
  return std::to_string(left / kDay) + " days left";
}

void print_certificate(const pki::CertificateInfo& c, TimeMs now) {
  std::printf("subject: %s\nissuer: %s\nserial: %s\n", c.subject.c_str(), c.issuer.c_str(),
              c.serial.c_str());
  if (!c.node.empty()) std::printf("node: %s\n", c.node.c_str());
  for (const auto& d : c.dns) std::printf("dns: %s\n", d.c_str());
  for (const auto& ip : c.ips) std::printf("ip: %s\n", ip.c_str());
  std::printf("valid: %s to %s (%s)\n", format_utc(c.not_before).c_str(),
              format_utc(c.not_after).c_str(), days_left(c.not_after, now).c_str());
}

}  // namespace

void add_pki(CLI::App& app, Commands& out) {
  auto* pki = app.add_subcommand(
      "pki", "The federation's certificate authority and node certificates (mTLS)");
  pki->require_subcommand(1);

  struct Ca {
    std::string dir, name;
    int days = 3650;
  };
  auto ca = std::make_shared<Ca>();
  auto* ca_cmd = pki->add_subcommand("ca", "Create a certificate authority in a new folder");
  ca_cmd->add_option("--dir", ca->dir, "The folder (created 0700; keep it off the nodes)")
      ->required();
  ca_cmd->add_option("--name", ca->name, "Its name, e.g. \"Federasi SP4N Provinsi Kepri\"")
      ->required();
  ca_cmd->add_option("--days", ca->days, "How long it is valid (default 3650)");
  out.push_back({ca_cmd, [ca] {
                   const TimeMs now = system_now_ms();
                   auto info = pki::create_authority(ca->dir, ca->name, ca->days, now);
                   std::printf("authority created in %s\n", ca->dir.c_str());
                   print_certificate(info, now);
                   std::printf(
                       "a parent trusts it with http.tls.client_ca_file = %s and refuses what it "
                       "revoked with http.tls.client_crl_file = %s\n",
                       pki::authority_file(ca->dir).c_str(), pki::crl_file(ca->dir).c_str());
                   return kOk;
                 }});

  struct IssueArgs {
    std::string dir, node, out;
    std::vector<std::string> dns, ips;
    int days = 397;
  };
  auto is = std::make_shared<IssueArgs>();
  auto* issue_cmd = pki->add_subcommand("issue", "Issue a node's certificate and a new key");
  issue_cmd->add_option("--dir", is->dir, "The authority's folder")->required();
  issue_cmd->add_option("--node", is->node, "The node id it names (urn:simpul:node:<id>)")
      ->required();
  issue_cmd
      ->add_option("--out", is->out,
                   "Where to write: OUT.pem (the certificate) and OUT.key (the key, 0600)")
      ->required();
  issue_cmd->add_option("--dns", is->dns, "A DNS name for the node's own listener (repeatable)");
  issue_cmd->add_option("--ip", is->ips, "An IPv4 address for its listener (repeatable)");
  issue_cmd->add_option("--days", is->days, "How long it is valid (default 397)");
  out.push_back({issue_cmd, [is] {
                   if (is->days < 1) {
                     std::fprintf(stderr, "error: --days must be 1 or more\n");
                     return kUsage;
                   }
                   const TimeMs now = system_now_ms();
                   pki::Issue req{is->node, is->dns, is->ips, now - 60'000, now + is->days * kDay};
                   auto info = pki::issue(is->dir, req, is->out + ".pem", is->out + ".key");
                   std::printf("issued %s.pem and %s.key\n", is->out.c_str(), is->out.c_str());
                   print_certificate(info, now);
                   return kOk;
                 }});

  struct Renew {
    std::string dir, cert, key;
    int days = 397;
  };
  auto rn = std::make_shared<Renew>();
  auto* renew_cmd = pki->add_subcommand(
      "renew", "A new key and certificate with the same names, written over the old files");
  renew_cmd->add_option("--dir", rn->dir, "The authority's folder")->required();
  renew_cmd->add_option("--cert", rn->cert, "The certificate to renew (CERT.pem)")->required();
  renew_cmd->add_option("--key", rn->key, "Its key file (default: CERT with .key for .pem)");
  renew_cmd->add_option("--days", rn->days, "How long the new one is valid (default 397)");
  out.push_back({renew_cmd, [rn] {
                   std::string key = rn->key;
                   if (key.empty()) {
                     key = rn->cert;
                     if (key.size() > 4 && key.substr(key.size() - 4) == ".pem")
                       key.resize(key.size() - 4);
                     key += ".key";
                   }
                   const TimeMs now = system_now_ms();
                   auto info = pki::renew(rn->dir, rn->cert, key, rn->days, now);
                   std::printf("renewed %s and %s (send the node SIGHUP to take them)\n",
                               rn->cert.c_str(), key.c_str());
                   print_certificate(info, now);
                   return kOk;
                 }});

  auto list_dir = std::make_shared<std::string>();
  auto* list = pki->add_subcommand("list", "The certificates an authority issued");
  list->add_option("--dir", *list_dir, "The authority's folder")->required();
  out.push_back(
      {list, [list_dir] {
         const TimeMs now = system_now_ms();
         std::printf("%-33s %-22s %-22s %s\n", "SERIAL", "NODE", "NOT AFTER", "STATE");
         for (const auto& i : pki::issued(*list_dir)) {
           std::string state =
               i.revoked_at
                   ? "revoked " + format_utc(*i.revoked_at)
                   : (i.cert.not_after < now ? "expired" : days_left(i.cert.not_after, now));
           std::printf("%-33s %-22s %-22s %s\n", i.cert.serial.c_str(), i.cert.node.c_str(),
                       format_utc(i.cert.not_after).c_str(), state.c_str());
         }
         return kOk;
       }});

  struct Revoke {
    std::string dir, serial, cert;
  };
  auto rv = std::make_shared<Revoke>();
  auto* revoke = pki->add_subcommand(
      "revoke", "Revoke a certificate: it is listed in crl.pem, which parents reload on SIGHUP");
  revoke->add_option("--dir", rv->dir, "The authority's folder")->required();
  auto* by_serial = revoke->add_option("--serial", rv->serial, "Its serial (simpul pki list)");
  revoke->add_option("--cert", rv->cert, "Or the certificate file")->excludes(by_serial);
  out.push_back({revoke, [rv] {
                   std::string serial = rv->serial;
                   if (serial.empty() && !rv->cert.empty())
                     serial = pki::read_certificate(rv->cert).serial;
                   if (serial.empty()) {
                     std::fprintf(stderr, "error: name the certificate: --serial or --cert\n");
                     return kUsage;
                   }
                   pki::revoke(rv->dir, serial, system_now_ms());
                   std::printf(
                       "revoked %s; copy %s to each parent (http.tls.client_crl_file) and send "
                       "it SIGHUP\n",
                       serial.c_str(), pki::crl_file(rv->dir).c_str());
                   return kOk;
                 }});

  auto trusted_config = std::make_shared<std::string>();
  auto* trusted = pki->add_subcommand(
      "trusted", "What this node trusts: the authorities, the revoked serials, its children");
  config_option(trusted, trusted_config);
  out.push_back(
      {trusted, [trusted_config] {
         Config cfg = load_node_config(*trusted_config);
         const TimeMs now = system_now_ms();
         const auto& tls = cfg.http.tls;
         if (tls.client_ca_file.empty()) {
           std::printf("client certificates: not asked for (http.tls.client_ca_file is unset)\n");
         } else {
           std::printf("client certificates: from %s\n", tls.client_ca_file.c_str());
           for (const auto& c : pki::read_certificates(tls.client_ca_file))
             std::printf("  authority %s, serial %s, until %s (%s)\n", c.subject.c_str(),
                         c.serial.c_str(), format_utc(c.not_after).c_str(),
                         days_left(c.not_after, now).c_str());
           if (tls.client_crl_file.empty()) {
             std::printf("revoked: no list (http.tls.client_crl_file is unset)\n");
           } else {
             auto revoked = pki::read_crl(tls.client_crl_file);
             std::printf("revoked: %zu in %s\n", revoked.size(), tls.client_crl_file.c_str());
             for (const auto& r : revoked)
               std::printf("  %s since %s\n", r.serial.c_str(), format_utc(r.at).c_str());
           }
         }
         std::printf("children (federation.child_auth %s):\n", cfg.federation.child_auth.c_str());
         for (const auto& c : cfg.children) std::printf("  %s: %s\n", c.id.c_str(), c.auth.c_str());
         return kOk;
       }});
}

}  // namespace simpul::cli
