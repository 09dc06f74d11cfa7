// The counter actor from the runtime's specification: add n; get -> reply with
// the count. Adds 1 and 2, asks for the count and prints it (3).
#include <cstdint>
#include <cstdio>

#include "cmud/actor/system.h"

namespace {

struct Add {
  int64_t n = 0;
  CMUD_MESSAGE("example.Add", n)
};
struct Get {
  cmud::actor::ActorRef reply_to;
  CMUD_MESSAGE("example.Get", reply_to)
};
struct Count {
  int64_t value = 0;
  CMUD_MESSAGE("example.Count", value)
};

// Only its worker touches count_.
class Counter : public cmud::actor::Actor {
 public:
  explicit Counter(cmud::actor::Context& ctx) : ctx_(ctx) {}

  cmud::Status on_message(cmud::actor::Message& msg) override {
    if (auto* add = msg.as<Add>()) {
      count_ += add->n;
    } else if (auto* get = msg.as<Get>()) {
      ctx_.tell(get->reply_to, Count{count_});
    } else {
      return {cmud::ErrorCode::kInvalidArgument,
              "unexpected message " + std::string(msg.name())};
    }
    return {};
  }

 private:
  cmud::actor::Context& ctx_;
  int64_t count_ = 0;
};

}  // namespace

int main() {
  auto sys = cmud::actor::System::create({.listen = false});
  if (!sys.ok()) {
    std::fprintf(stderr, "actor-example: %s\n",
                 sys.status().to_string().c_str());
    return 1;
  }
  auto counter = (*sys)->spawn<Counter>();
  (*sys)->tell(counter, Add{1});
  (*sys)->tell(counter, Add{2});
  auto ch = (*sys)->channel();
  (*sys)->tell(counter, Get{ch.ref});
  auto reply = ch.reply.get();
  const Count* count = reply.ok() ? reply->as<Count>() : nullptr;
  if (count == nullptr) {
    std::fprintf(stderr, "actor-example: no count: %s\n",
                 reply.status().to_string().c_str());
    return 1;
  }
  std::printf("%lld\n", static_cast<long long>(count->value));
  return 0;
}
