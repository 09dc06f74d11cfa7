// A connection in pub/sub mode: SUBSCRIBE to channels on one query port and
// take the messages published to them on any server of the cluster.
// Reading never blocks, and fd() can be polled beside other input, so a
// terminal program waits for keys and messages at once.
//
//   auto sub = cmud::client::Subscriber::connect("127.0.0.1:6001");
//   (*sub)->subscribe("news");
//   poll({(*sub)->fd(), POLLIN} ...);
//   auto got = (*sub)->read();  // Result<std::vector<Subscriber::Message>>
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cmud/client/credentials.h"
#include "cmud/common/status.h"
#include "cmud/tls/tls.h"

namespace cmud::client {

// Thread-compatible: one thread uses it. Messages come at most once, in
// each publisher's order; a broken connection loses what was published
// meanwhile (reconnect and read what must not be lost from the store).
class Subscriber {
 public:
  struct Message {
    std::string channel;
    std::string message;
  };

  // Connects to a query port ("host:port"), over TLS under `tls` when set
  // (ClientOptions::tls), and signs in with `credentials` (when they hold a
  // password); kUnavailable when it cannot within `timeout` (each step),
  // kDenied when the server refuses them.
  static Result<std::unique_ptr<Subscriber>> connect(
      const std::string& addr,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(2000),
      const Credentials& credentials = {},
      std::shared_ptr<tls::Context> tls = nullptr);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // Send the command; its confirmation is consumed by read(). kUnavailable
  // when the connection is broken.
  Status subscribe(const std::string& channel);
  Status unsubscribe(const std::string& channel);
  // The messages that have arrived, without waiting; kUnavailable once the
  // connection is closed or broken, kProtocol on a malformed reply.
  Result<std::vector<Message>> read();
  // Readable when read() has something (or the connection ended).
  int fd() const;
  const std::string& addr() const { return addr_; }

 private:
  class Impl;
  Subscriber(std::unique_ptr<Impl> impl, std::string addr,
             std::shared_ptr<tls::Context> tls);
  std::shared_ptr<tls::Context> tls_;  // outlives impl_'s stream
  std::unique_ptr<Impl> impl_;
  std::string addr_;
};

}  // namespace cmud::client
