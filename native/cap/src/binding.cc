// libpcap binding: cap 0.2.1 by Brian White (MIT, see ../LICENSE), patched for netmatrix.
// What changed and why is in ../README.md. POSIX only (the Windows/WinPcap branch was removed).
#include <node.h>
#include <node_buffer.h>
#include <nan.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __linux__
# include <linux/if_packet.h>
# ifndef PACKET_IGNORE_OUTGOING
#  define PACKET_IGNORE_OUTGOING 23
# endif
#endif

using namespace node;
using namespace v8;

static Nan::Persistent<FunctionTemplate> constructor;
static Nan::Persistent<String> emit_symbol;
static Nan::Persistent<String> packet_symbol;
static Nan::Persistent<String> packets_symbol;

// Bytes before each frame in batch mode: a pcap record header with nanoseconds, little-endian:
// u32 seconds, u32 nanoseconds, u32 captured length, u32 original length. Frames are padded to 4.
static const size_t BATCH_HEADER = 16;
// Frames handed to JavaScript per poll callback before control goes back to the event loop, so
// that timers and signals still run under a flood (the poll handle is level-triggered: what is
// left in the ring raises the next callback at once).
static const uint32_t MAX_FRAMES_PER_CALLBACK = 65536;

void SetAddrStringHelper(const char* key,
                         sockaddr *addr,
                         Local<Object> Address) {
  if (key && addr) {
    char dst_addr[INET6_ADDRSTRLEN + 1] = {0};
    char* src = 0;
    socklen_t size = 0;
    if (addr->sa_family == AF_INET) {
      struct sockaddr_in* saddr = (struct sockaddr_in*) addr;
      src = (char*) &(saddr->sin_addr);
      size = INET_ADDRSTRLEN;
    } else {
      struct sockaddr_in6* saddr6 = (struct sockaddr_in6*) addr;
      src = (char*) &(saddr6->sin6_addr);
      size = INET6_ADDRSTRLEN;
    }
    const char* address = inet_ntop(addr->sa_family, src, dst_addr, size);
    if (address == nullptr) {
      Nan::Set(Address,
               Nan::New<String>(key).ToLocalChecked(),
               Nan::Undefined()).FromJust();
    } else {
      Nan::Set(Address,
               Nan::New<String>(key).ToLocalChecked(),
               Nan::New<String>(address).ToLocalChecked()).FromJust();
    }
  }
}

static inline void put_u32le(char* p, uint32_t v) {
  p[0] = (char)(v & 0xff);
  p[1] = (char)((v >> 8) & 0xff);
  p[2] = (char)((v >> 16) & 0xff);
  p[3] = (char)((v >> 24) & 0xff);
}

#ifdef __linux__
// True when `device` is a loopback interface (IFF_LOOPBACK).
static bool is_loopback(const char* device) {
  if (strlen(device) >= IFNAMSIZ)
    return false;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0)
    return false;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, device, IFNAMSIZ - 1);
  bool loop = ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_LOOPBACK) != 0;
  close(s);
  return loop;
}
#endif

static void free_poll_handle(uv_handle_t* handle) {
  delete reinterpret_cast<uv_poll_t*>(handle);
}

class Pcap : public Nan::ObjectWrap {
  public:
    Nan::Persistent<Function> Emit;
    Nan::AsyncResource async_res;
    // Set while a close() waits for pcap_dispatch() to return (close() called from a callback).
    bool closing;
    bool handling_packets;
    // Heap-allocated: libuv owns it from uv_poll_init until uv_close's callback frees it, which
    // may be after this object is gone.
    uv_poll_t* poll_handle;
    pcap_t *pcap_handle;

    // The Buffer frames are copied into, held by a persistent reference for as long as libpcap may
    // write into it (cap 0.2.1 kept only the raw pointer: a collected Buffer was written after free).
    Nan::Persistent<Object> buffer_ref;
    char *buffer_data;
    size_t buffer_length;

    bool batch;
    bool nanoseconds;
    size_t batch_used;
    uint32_t batch_count;
    uint32_t frames_this_callback;

    Pcap() : async_res("cap:packet") {
      pcap_handle = nullptr;
      poll_handle = nullptr;
      buffer_data = nullptr;
      buffer_length = 0;
      closing = false;
      handling_packets = false;
      batch = false;
      nanoseconds = false;
      batch_used = 0;
      batch_count = 0;
      frames_this_callback = 0;
    }

    ~Pcap() {
      // Only reached once unreferenced, i.e. never opened, closed, or open() failed: nothing of
      // libuv's is left to stop. A handle still here would be a leak, not a crash.
      stop_polling();
      if (pcap_handle) {
        pcap_close(pcap_handle);
        pcap_handle = nullptr;
      }
      buffer_ref.Reset();
      Emit.Reset();
    }

    void stop_polling() {
      if (poll_handle) {
        uv_poll_stop(poll_handle);
        poll_handle->data = nullptr;
        uv_close(reinterpret_cast<uv_handle_t*>(poll_handle), free_poll_handle);
        poll_handle = nullptr;
      }
    }

    bool close() {
      if (!pcap_handle || closing)
        return false;
      stop_polling();
      if (handling_packets) {
        // Called from JavaScript inside EmitPacket: pcap_dispatch is still on the stack. Stop it;
        // cb_packets releases the handle when it returns.
        closing = true;
        pcap_breakloop(pcap_handle);
      } else {
        release();
      }
      return true;
    }

    // Frees the pcap_t and the Buffer reference; undoes open()'s Ref().
    void release() {
      pcap_close(pcap_handle);
      pcap_handle = nullptr;
      buffer_ref.Reset();
      buffer_data = nullptr;
      buffer_length = 0;
      batch_used = 0;
      batch_count = 0;
      closing = false;
      Unref();
    }

    void call_js(int argc, Local<Value>* argv) {
      async_res.runInAsyncScope(Nan::New<Object>(persistent()),
                                Nan::New<Function>(Emit),
                                argc,
                                argv);
    }

    void flush_batch() {
      if (batch_count == 0)
        return;
      Nan::HandleScope scope;
      Local<Value> argv[3] = {
        Nan::New<String>(packets_symbol),
        Nan::New<Number>(batch_count),
        Nan::New<Number>((double)batch_used)
      };
      batch_count = 0;
      batch_used = 0;
      call_js(3, argv);
    }

    static void EmitPacket(u_char* user,
                           const struct pcap_pkthdr* pkt_hdr,
                           const u_char* pkt_data) {
      Pcap *obj = (Pcap*) user;
      if (obj->closing)
        return;
      obj->frames_this_callback++;
      uint32_t sec = (uint32_t)pkt_hdr->ts.tv_sec;
      uint32_t frac = (uint32_t)pkt_hdr->ts.tv_usec;
      uint32_t nsec = obj->nanoseconds ? frac : frac * 1000;

      if (obj->batch) {
        size_t copy_len = pkt_hdr->caplen;
        size_t need = BATCH_HEADER + ((copy_len + 3) & ~(size_t)3);
        if (obj->batch_used + need > obj->buffer_length) {
          obj->flush_batch();
          if (obj->closing)
            return;
          if (need > obj->buffer_length) {
            copy_len = (obj->buffer_length - BATCH_HEADER) & ~(size_t)3;
            need = BATCH_HEADER + copy_len;
          }
        }
        char* p = obj->buffer_data + obj->batch_used;
        put_u32le(p, sec);
        put_u32le(p + 4, nsec);
        put_u32le(p + 8, (uint32_t)copy_len);
        put_u32le(p + 12, pkt_hdr->len);
        memcpy(p + BATCH_HEADER, pkt_data, copy_len);
        obj->batch_used += need;
        obj->batch_count++;
        return;
      }

      Nan::HandleScope scope;
      size_t copy_len = pkt_hdr->caplen;
      bool truncated = false;
      if (copy_len > obj->buffer_length) {
        copy_len = obj->buffer_length;
        truncated = true;
      }
      memcpy(obj->buffer_data, pkt_data, copy_len);

      // cap's (nbytes, truncated), then what cap 0.2.1 left out of libpcap's header.
      Local<Value> emit_argv[6] = {
        Nan::New<String>(packet_symbol),
        Nan::New<Number>((double)copy_len),
        Nan::New<Boolean>(truncated),
        Nan::New<Number>(pkt_hdr->len),
        Nan::New<Number>(sec),
        Nan::New<Number>(nsec)
      };
      obj->call_js(6, emit_argv);
    }

    static void cb_packets(uv_poll_t* handle, int status, int events) {
      Pcap *obj = (Pcap*)handle->data;
      if (obj == nullptr || obj->pcap_handle == nullptr || obj->closing)
        return;
      if (status < 0 || !(events & UV_READABLE))
        return;

      obj->handling_packets = true;
      obj->frames_this_callback = 0;
      int packet_count;
      do {
        packet_count = pcap_dispatch(obj->pcap_handle,
                                     obj->batch
                                       ? (int)(MAX_FRAMES_PER_CALLBACK - obj->frames_this_callback)
                                       : 1,
                                     Pcap::EmitPacket,
                                     (u_char*)obj);
      } while (packet_count > 0 && !obj->closing
               && obj->frames_this_callback < MAX_FRAMES_PER_CALLBACK);
      if (!obj->closing)
        obj->flush_batch();
      obj->handling_packets = false;

      if (obj->closing)
        obj->release();
    }

    static NAN_METHOD(New) {
      if (!info.IsConstructCall())
        return Nan::ThrowError("Use `new` to create instances of this object");

      Pcap *obj = new Pcap();
      obj->Wrap(info.This());

      obj->Emit.Reset(Local<Function>::Cast(
        Nan::Get(Nan::New<Object>(obj->persistent()),
                 Nan::New<String>(emit_symbol)).ToLocalChecked()
      ));

      info.GetReturnValue().Set(info.This());
    }

    static NAN_METHOD(Send) {
      Pcap *obj = Nan::ObjectWrap::Unwrap<Pcap>(info.This());
      size_t buffer_size = 0;

      if (obj->pcap_handle == nullptr || obj->closing)
        return Nan::ThrowError("Not currently capturing/open");

      if (info.Length() == 0)
        return Nan::ThrowTypeError("the first parameter must be a buffer");

      if (!Buffer::HasInstance(info[0]))
        return Nan::ThrowTypeError("first parameter must be a buffer");

      if (info.Length() >= 2) {
        if (!info[1]->IsUint32())
          return Nan::ThrowTypeError("length must be a positive integer");

        buffer_size = Nan::To<uint32_t>(info[1]).FromJust();
      }

      Local<Value> buffer_obj = info[0];
      if (info.Length() == 1)
        buffer_size = Buffer::Length(buffer_obj);
      else {
        if (buffer_size > Buffer::Length(buffer_obj)) {
          return Nan::ThrowTypeError(
            "size must be smaller or equal to buffer length"
          );
        }
      }

      if (pcap_sendpacket(obj->pcap_handle,
                          (const u_char*)(Buffer::Data(buffer_obj)),
                          (int)buffer_size) == -1) {
        return Nan::ThrowError(pcap_geterr(obj->pcap_handle));
      }

      return;
    }

    // Reads a non-negative integer option; false (and a thrown TypeError) when present but wrong.
    static bool IntOption(Local<Object> opts, const char* name, int min, int max, int* out) {
      Local<Value> v = Nan::Get(opts, Nan::New<String>(name).ToLocalChecked()).ToLocalChecked();
      if (v->IsUndefined())
        return true;
      if (!v->IsInt32() || Nan::To<int32_t>(v).FromJust() < min
          || Nan::To<int32_t>(v).FromJust() > max) {
        char msg[128];
        snprintf(msg, sizeof msg, "option %s must be an integer from %d to %d", name, min, max);
        Nan::ThrowTypeError(msg);
        return false;
      }
      *out = Nan::To<int32_t>(v).FromJust();
      return true;
    }

    static bool BoolOption(Local<Object> opts, const char* name, bool* out) {
      Local<Value> v = Nan::Get(opts, Nan::New<String>(name).ToLocalChecked()).ToLocalChecked();
      if (v->IsUndefined())
        return true;
      if (!v->IsBoolean()) {
        char msg[128];
        snprintf(msg, sizeof msg, "option %s must be a boolean", name);
        Nan::ThrowTypeError(msg);
        return false;
      }
      *out = Nan::To<bool>(v).FromJust();
      return true;
    }

    // Closes a pcap_t that failed to open and throws libpcap's (or the given) message.
    static void FailOpen(Pcap* obj, const char* msg) {
      char copy[PCAP_ERRBUF_SIZE + 64];
      snprintf(copy, sizeof copy, "%s", msg);
      if (obj->pcap_handle) {
        pcap_close(obj->pcap_handle);
        obj->pcap_handle = nullptr;
      }
      obj->buffer_ref.Reset();
      obj->buffer_data = nullptr;
      obj->buffer_length = 0;
      Nan::ThrowError(copy);
    }

    // open(device, filter, bufSize, buffer[, options]) -> link type name (as cap 0.2.1).
    // options: snaplen (1..262144, default 65535), promiscuous (default true), immediate (default
    // true), timeout (read timeout in ms, default 1000), nanoseconds (ask for nanosecond
    // timestamps, default false), batch (deliver 'packets' batches, default false).
    static NAN_METHOD(Open) {
      Pcap *obj = Nan::ObjectWrap::Unwrap<Pcap>(info.This());

      if (obj->pcap_handle || obj->closing)
        return Nan::ThrowError("already open: close() first");

      if (info.Length() < 4)
        return Nan::ThrowTypeError("Expecting 4 arguments");

      if (!info[0]->IsString())
        return Nan::ThrowTypeError("device must be a string");

      if (!info[1]->IsString())
        return Nan::ThrowTypeError("filter must be a string");

      if (!info[2]->IsUint32())
        return Nan::ThrowTypeError("bufSize must be a positive integer");

      if (!Buffer::HasInstance(info[3]))
        return Nan::ThrowTypeError("buffer must be a Buffer");

      int snaplen = 65535;
      int timeout = 1000;
      bool promisc = true;
      bool immediate = true;
      bool nano = false;
      bool batch = false;
      if (info.Length() >= 5 && !info[4]->IsUndefined()) {
        if (!info[4]->IsObject())
          return Nan::ThrowTypeError("options must be an object");
        Local<Object> opts = Nan::To<Object>(info[4]).ToLocalChecked();
        if (!IntOption(opts, "snaplen", 1, 262144, &snaplen)
            || !IntOption(opts, "timeout", 0, 60000, &timeout)
            || !BoolOption(opts, "promiscuous", &promisc)
            || !BoolOption(opts, "immediate", &immediate)
            || !BoolOption(opts, "nanoseconds", &nano)
            || !BoolOption(opts, "batch", &batch))
          return;
      }

      Nan::Utf8String device(info[0]);
      Nan::Utf8String filter(info[1]);
      int buffer_size = Nan::To<int32_t>(info[2]).FromJust();
      Local<Object> buffer_obj = Nan::To<Object>(info[3]).ToLocalChecked();
      if (batch && Buffer::Length(buffer_obj) < BATCH_HEADER + 64)
        return Nan::ThrowTypeError("buffer too small for batch mode");

      struct bpf_program fp;
      bpf_u_int32 mask;
      bpf_u_int32 net;
      char errbuf[PCAP_ERRBUF_SIZE];

      // The netmask only matters to filters that say "broadcast"; an interface without an IPv4
      // address has none, and that is not worth a warning on stderr (cap 0.2.1 printed one).
      if (pcap_lookupnet((char*)*device, &net, &mask, errbuf) == -1) {
        net = 0;
        mask = 0;
      }

      errbuf[0] = '\0';
      obj->pcap_handle = pcap_create((char*)*device, errbuf);
      if (obj->pcap_handle == nullptr)
        return FailOpen(obj, errbuf);

      if (pcap_set_snaplen(obj->pcap_handle, snaplen) != 0)
        return FailOpen(obj, "Unable to set snaplen");

      if (pcap_set_promisc(obj->pcap_handle, promisc ? 1 : 0) != 0)
        return FailOpen(obj, "Unable to set promiscuous mode");

      // Sometimes the OS has a lower limit that it will silently enforce.
      if (pcap_set_buffer_size(obj->pcap_handle, buffer_size) != 0)
        return FailOpen(obj, "Unable to set buffer size");

      // With TPACKET_V3 (Linux, not immediate) this is how long a ring block waits for more frames
      // before it is handed over: the longest a frame waits.
      if (pcap_set_timeout(obj->pcap_handle, timeout) != 0)
        return FailOpen(obj, "Unable to set read timeout");

      if (pcap_set_immediate_mode(obj->pcap_handle, immediate ? 1 : 0) != 0)
        return FailOpen(obj, "Unable to set immediate mode");

      obj->nanoseconds = false;
      if (nano) {
        // PCAP_ERROR_TSTAMP_PRECISION_NOTSUP leaves microseconds; the precision is read back below.
        pcap_set_tstamp_precision(obj->pcap_handle, PCAP_TSTAMP_PRECISION_NANO);
      }

      int act = pcap_activate(obj->pcap_handle);
      if (act < 0) {
        char msg[PCAP_ERRBUF_SIZE + 64];
        const char* detail = pcap_geterr(obj->pcap_handle);
        // libpcap's own text when it left one, else the generic text of the status.
        snprintf(msg, sizeof msg, "%s", detail && detail[0] ? detail : pcap_statustostr(act));
        return FailOpen(obj, msg);
      }
      obj->nanoseconds =
        pcap_get_tstamp_precision(obj->pcap_handle) == PCAP_TSTAMP_PRECISION_NANO;

#ifdef __linux__
      // On a loopback interface the kernel hands the socket every packet twice, going out and coming
      // in, and libpcap throws the outgoing copy away. Ask the kernel not to pass those copies
      // (Linux 4.20+): the ring holds twice as many packets, and pcap_stats() counts each packet once,
      // so a dropped outgoing copy is not reported as a lost packet. Older kernels refuse the option:
      // then the counts stay doubled on loopback.
      if (is_loopback(*device)) {
        int one = 1;
        setsockopt(pcap_fileno(obj->pcap_handle), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
      }
#endif

      if (pcap_setnonblock(obj->pcap_handle, 1, errbuf) == -1)
        return FailOpen(obj, errbuf);

      if (filter.length() != 0) {
        if (pcap_compile(obj->pcap_handle, &fp, (char*)*filter, 1, net) == -1)
          return FailOpen(obj, pcap_geterr(obj->pcap_handle));

        if (pcap_setfilter(obj->pcap_handle, &fp) == -1) {
          pcap_freecode(&fp);
          return FailOpen(obj, pcap_geterr(obj->pcap_handle));
        }

        pcap_freecode(&fp);
      }

      int link_type = pcap_datalink(obj->pcap_handle);

      Local<Value> ret;
      switch (link_type) {
        case DLT_NULL:
          ret = Nan::New<String>("NULL").ToLocalChecked();
          break;
        case DLT_EN10MB: // most wifi interfaces pretend to be "ethernet"
          ret =  Nan::New<String>("ETHERNET").ToLocalChecked();
          break;
        case DLT_IEEE802_11_RADIO: // 802.11 "monitor mode"
          ret = Nan::New<String>("IEEE802_11_RADIO").ToLocalChecked();
          break;
        case DLT_LINUX_SLL: // "Linux cooked-mode capture"
          ret = Nan::New<String>("LINKTYPE_LINUX_SLL").ToLocalChecked();
          break;
        case DLT_RAW: // "raw IP"
          ret = Nan::New<String>("RAW").ToLocalChecked();
          break;
        default:
          snprintf(errbuf, PCAP_ERRBUF_SIZE, "Unknown linktype %d", link_type);
          ret = Nan::New<String>(errbuf).ToLocalChecked();
          break;
      }

      int fd = pcap_get_selectable_fd(obj->pcap_handle);
      if (fd < 0)
        return FailOpen(obj, "libpcap gives no selectable descriptor for this device");
      uv_poll_t* poll = new uv_poll_t;
      int r = uv_poll_init(Nan::GetCurrentEventLoop(), poll, fd);
      if (r != 0) {
        delete poll;
        return FailOpen(obj, uv_strerror(r));
      }
      poll->data = obj;
      obj->poll_handle = poll;
      r = uv_poll_start(poll, UV_READABLE, cb_packets);
      if (r != 0) {
        obj->stop_polling();
        return FailOpen(obj, uv_strerror(r));
      }

      obj->buffer_ref.Reset(buffer_obj);
      obj->buffer_data = Buffer::Data(buffer_obj);
      obj->buffer_length = Buffer::Length(buffer_obj);
      obj->batch = batch;
      obj->batch_used = 0;
      obj->batch_count = 0;

      obj->Ref();
      info.GetReturnValue().Set(ret);
    }

    // stats() -> { received, dropped, ifDropped }: libpcap's pcap_stats() (ps_recv, ps_drop,
    // ps_ifdrop). 32-bit counters that wrap: callers take differences modulo 2^32.
    static NAN_METHOD(Stats) {
      Pcap *obj = Nan::ObjectWrap::Unwrap<Pcap>(info.This());
      if (obj->pcap_handle == nullptr || obj->closing)
        return Nan::ThrowError("Not currently capturing/open");
      struct pcap_stat ps;
      memset(&ps, 0, sizeof ps);
      if (pcap_stats(obj->pcap_handle, &ps) != 0)
        return Nan::ThrowError(pcap_geterr(obj->pcap_handle));
      Local<Object> out = Nan::New<Object>();
      Nan::Set(out, Nan::New<String>("received").ToLocalChecked(), Nan::New<Number>(ps.ps_recv));
      Nan::Set(out, Nan::New<String>("dropped").ToLocalChecked(), Nan::New<Number>(ps.ps_drop));
      Nan::Set(out, Nan::New<String>("ifDropped").ToLocalChecked(), Nan::New<Number>(ps.ps_ifdrop));
      info.GetReturnValue().Set(out);
    }

    // 'nano' or 'micro': what the kernel stamps with (timestamps handed over are always in ns).
    static NAN_METHOD(TimestampPrecision) {
      Pcap *obj = Nan::ObjectWrap::Unwrap<Pcap>(info.This());
      if (obj->pcap_handle == nullptr || obj->closing)
        return Nan::ThrowError("Not currently capturing/open");
      info.GetReturnValue().Set(
        Nan::New<String>(obj->nanoseconds ? "nano" : "micro").ToLocalChecked());
    }

    static NAN_METHOD(Close) {
      Pcap *obj = Nan::ObjectWrap::Unwrap<Pcap>(info.This());

      info.GetReturnValue().Set(Nan::New<Boolean>(obj->close()));
    }

    static void Initialize(Local<Object> target) {
      Nan::HandleScope scope;

      Local<FunctionTemplate> tpl = Nan::New<FunctionTemplate>(New);

      constructor.Reset(tpl);
      tpl->InstanceTemplate()->SetInternalFieldCount(1);
      tpl->SetClassName(Nan::New<String>("Cap").ToLocalChecked());

      Nan::SetPrototypeMethod(tpl, "send", Send);
      Nan::SetPrototypeMethod(tpl, "open", Open);
      Nan::SetPrototypeMethod(tpl, "close", Close);
      Nan::SetPrototypeMethod(tpl, "stats", Stats);
      Nan::SetPrototypeMethod(tpl, "timestampPrecision", TimestampPrecision);

      emit_symbol.Reset(Nan::New<String>("emit").ToLocalChecked());
      packet_symbol.Reset(Nan::New<String>("packet").ToLocalChecked());
      packets_symbol.Reset(Nan::New<String>("packets").ToLocalChecked());

      Nan::Set(target,
               Nan::New<String>("Cap").ToLocalChecked(),
               Nan::GetFunction(tpl).ToLocalChecked()).FromJust();
    }
};

static NAN_METHOD(ListDevices) {
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_if_t *alldevs = nullptr, *cur_dev;
  pcap_addr_t *cur_addr;
  int i, j, af;

  Local<Object> Dev;
  Local<Object> Address;
  Local<Array> DevsArray;
  Local<Array> AddrArray;

  if (pcap_findalldevs(&alldevs, errbuf) == -1)
    return Nan::ThrowError(errbuf);

  DevsArray = Nan::New<Array>();

  for (i = 0, cur_dev = alldevs;
       cur_dev != nullptr;
       cur_dev = cur_dev->next, ++i) {
    Dev = Nan::New<Object>();
    AddrArray = Nan::New<Array>();

    Nan::Set(Dev,
             Nan::New<String>("name").ToLocalChecked(),
             Nan::New<String>(cur_dev->name).ToLocalChecked());
    if (cur_dev->description != nullptr) {
      Nan::Set(Dev,
               Nan::New<String>("description").ToLocalChecked(),
               Nan::New<String>(cur_dev->description).ToLocalChecked());
    }

    for (j = 0, cur_addr = cur_dev->addresses;
         cur_addr != nullptr;
         cur_addr = cur_addr->next) {
      if (cur_addr->addr) {
        af = cur_addr->addr->sa_family;
        if (af == AF_INET || af == AF_INET6) {
          Address = Nan::New<Object>();
          SetAddrStringHelper("addr", cur_addr->addr, Address);
          SetAddrStringHelper("netmask", cur_addr->netmask, Address);
          SetAddrStringHelper("broadaddr", cur_addr->broadaddr, Address);
          SetAddrStringHelper("dstaddr", cur_addr->dstaddr, Address);
          Nan::Set(AddrArray, j++, Address);
        }
      }
    }

    Nan::Set(Dev, Nan::New<String>("addresses").ToLocalChecked(), AddrArray);

    if (cur_dev->flags & PCAP_IF_LOOPBACK) {
      Nan::Set(Dev,
               Nan::New<String>("flags").ToLocalChecked(),
               Nan::New<String>("PCAP_IF_LOOPBACK").ToLocalChecked());
    }

    Nan::Set(DevsArray, i, Dev);
  }

  if (alldevs)
    pcap_freealldevs(alldevs);

  info.GetReturnValue().Set(DevsArray);
}

static NAN_METHOD(FindDevice) {
  Local<Value> ret;
  char errbuf[PCAP_ERRBUF_SIZE];
  char name4[INET_ADDRSTRLEN];
  char name6[INET6_ADDRSTRLEN];
  char *ip = nullptr;
  pcap_if_t *alldevs = nullptr, *dev;
  pcap_addr_t *addr;
  bool found = false;

  if (pcap_findalldevs(&alldevs, errbuf) == -1)
    return Nan::ThrowError(errbuf);

  if (info.Length() > 0) {
    if (!info[0]->IsString()) {
      pcap_freealldevs(alldevs);
      return Nan::ThrowTypeError("Expected string for IP");
    }
    Nan::Utf8String ipstr(info[0]);
    ip = (char*)malloc(strlen(*ipstr) + 1);
    strcpy(ip, *ipstr);
  }

  for (dev = alldevs; dev != nullptr; dev = dev->next) {
    if (dev->addresses != nullptr) {
      for (addr = dev->addresses; addr != nullptr; addr = addr->next) {
        if (addr->addr == nullptr)
          continue;
        if (addr->addr->sa_family == AF_INET
            || addr->addr->sa_family == AF_INET6) {
          if (ip) {
            if (addr->addr->sa_family == AF_INET) {
              inet_ntop(AF_INET,
                        (char*)&(((struct sockaddr_in*)(addr->addr))->sin_addr),
                        name4, INET_ADDRSTRLEN);
              if (strcmp(ip, name4) != 0)
                continue;
            } else if (addr->addr->sa_family == AF_INET6) {
              inet_ntop(AF_INET6,
                        (char*)&(
                          ((struct sockaddr_in6*)(addr->addr))->sin6_addr
                        ),
                        name6, INET6_ADDRSTRLEN);
              if (strcmp(ip, name6) != 0)
                continue;
            }
          }
          ret = Nan::New<String>(dev->name).ToLocalChecked();
          found = true;
          break;
        }
      }
      if (found)
        break;
    }
  }

  if (alldevs)
    pcap_freealldevs(alldevs);

  if (ip)
    free(ip);

  info.GetReturnValue().Set(ret);
}

NAN_MODULE_INIT(init) {
  Pcap::Initialize(target);
  Nan::Set(target,
           Nan::New<String>("findDevice").ToLocalChecked(),
           Nan::GetFunction(Nan::New<FunctionTemplate>(FindDevice))
             .ToLocalChecked()).FromJust();
  Nan::Set(target,
           Nan::New<String>("deviceList").ToLocalChecked(),
           Nan::GetFunction(Nan::New<FunctionTemplate>(ListDevices))
             .ToLocalChecked()).FromJust();
}

NODE_MODULE(cap, init)
