#include "test_certs.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>

namespace cmud::tls::testing {

namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

Key new_key() { return Key(EVP_EC_gen("P-256")); }

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `key` named `cn`, valid from `from_s` to `to_s` seconds
// from now, signed by issuer/issuer_key (itself when null).
Cert make_cert(EVP_PKEY* key, const char* cn, bool ca, long from_s, long to_s,
               X509* issuer, EVP_PKEY* issuer_key, long serial) {
  Cert c(X509_new());
  if (!c) return nullptr;
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), from_s);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), to_s);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(
      name, "O", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("cmud test"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1,
                             0);
  X509* signer = issuer != nullptr ? issuer : c.get();
  X509_set_issuer_name(c.get(), X509_get_subject_name(signer));
  bool ok = ca ? add_ext(c.get(), signer, NID_basic_constraints,
                         "critical,CA:TRUE") &&
                     add_ext(c.get(), signer, NID_key_usage,
                             "critical,keyCertSign,cRLSign")
               : add_ext(c.get(), signer, NID_basic_constraints, "CA:FALSE") &&
                     add_ext(c.get(), signer, NID_subject_alt_name,
                             "DNS:localhost,IP:127.0.0.1");
  if (!ok) return nullptr;
  if (X509_sign(c.get(), issuer_key != nullptr ? issuer_key : key,
                EVP_sha256()) == 0) {
    return nullptr;
  }
  return c;
}

Status write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    return Status(ErrorCode::kIo, "cannot write " + path);
  }
  bool ok = cert != nullptr ? PEM_write_X509(f, cert) == 1
                            : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0,
                                                   nullptr, nullptr) == 1;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) return Status(ErrorCode::kIo, "cannot write " + path);
  return {};
}

}  // namespace

Result<TestCerts> write_test_certs(const std::string& dir) {
  constexpr long kDay = 24 * 3600;
  TestCerts out;
  Key ca_key = new_key();
  if (!ca_key) return Status(ErrorCode::kInternal, "EC key generation failed");
  Cert ca = make_cert(ca_key.get(), "cmud test CA", true, -kDay, 30 * kDay,
                      nullptr, nullptr, 1);
  if (!ca) return Status(ErrorCode::kInternal, "cannot make the test CA");
  out.ca_cert = dir + "/ca.crt";
  Status s = write_pem(out.ca_cert, ca.get(), nullptr);
  if (!s.ok()) return s;

  struct Leaf {
    const char* name;
    bool by_ca;
    long from_s, to_s;
    std::string* cert;
    std::string* key;
  };
  const Leaf leaves[] = {
      {"server", true, -kDay, 30 * kDay, &out.server_cert, &out.server_key},
      {"client", true, -kDay, 30 * kDay, &out.client_cert, &out.client_key},
      {"expired", true, -2 * kDay, -kDay, &out.expired_cert, &out.expired_key},
      {"self-signed", false, -kDay, 30 * kDay, &out.self_signed_cert,
       &out.self_signed_key},
  };
  long serial = 2;
  for (const Leaf& leaf : leaves) {
    Key key = new_key();
    if (!key) return Status(ErrorCode::kInternal, "EC key generation failed");
    Cert cert = make_cert(key.get(), "localhost", false, leaf.from_s, leaf.to_s,
                          leaf.by_ca ? ca.get() : nullptr,
                          leaf.by_ca ? ca_key.get() : nullptr, serial++);
    if (!cert) {
      return Status(ErrorCode::kInternal, std::string("cannot make the ") +
                                              leaf.name + " certificate");
    }
    *leaf.cert = dir + "/" + leaf.name + ".crt";
    *leaf.key = dir + "/" + leaf.name + ".key";
    s = write_pem(*leaf.cert, cert.get(), nullptr);
    if (s.ok()) s = write_pem(*leaf.key, nullptr, key.get());
    if (!s.ok()) return s;
  }
  return out;
}

TempCerts::TempCerts() {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "cmud-certs-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    status_ = Status(ErrorCode::kIo, "cannot make a temporary directory");
    return;
  }
  dir_ = tmpl;
  auto certs = write_test_certs(dir_);
  if (certs.ok()) {
    certs_ = *certs;
  } else {
    status_ = certs.status();
  }
}

TempCerts::~TempCerts() {
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

}  // namespace cmud::tls::testing
