/*
 * UDP tracker load generator (BEP 15): one socket, a fixed number of announces in flight,
 * random info-hash among N (4-byte index + 16 fixed bytes, as the whitelist), random peer
 * id and announced port. Prints one line: requests/s, p50 and p99 latency in microseconds.
 * usage: udp-load HOST PORT SECONDS INFLIGHT TORRENTS
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + ts.tv_nsec / 1000;
}

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void) {
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

#define MAXSLOTS 4096
#define HBUCKETS 2000000 /* 1 us buckets up to 2 s */
static uint32_t *hist;

static uint8_t conn_id[8];

static int get_conn_id(int fd, struct sockaddr_in *to) {
  uint8_t req[16], rep[64];
  for (int attempt = 0; attempt < 20; attempt++) {
    uint64_t proto = 0x41727101980ull;
    for (int i = 0; i < 8; i++) req[i] = (uint8_t)(proto >> (56 - 8 * i));
    memset(req + 8, 0, 4);
    uint32_t tid = rnd();
    memcpy(req + 12, &tid, 4);
    sendto(fd, req, 16, 0, (struct sockaddr *)to, sizeof *to);
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 500) > 0) {
      ssize_t n = recv(fd, rep, sizeof rep, 0);
      if (n >= 16 && rep[3] == 0 && memcmp(rep + 4, &tid, 4) == 0) {
        memcpy(conn_id, rep + 8, 8);
        return 0;
      }
    }
  }
  return -1;
}

int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: udp-load HOST PORT SECONDS INFLIGHT TORRENTS\n"); return 2; }
  const char *host = argv[1];
  int port = atoi(argv[2]);
  double seconds = atof(argv[3]);
  int inflight = atoi(argv[4]);
  uint32_t torrents = (uint32_t)atoi(argv[5]);
  if (inflight > MAXSLOTS) inflight = MAXSLOTS;
  rng ^= (uint64_t)getpid() << 20 ^ now_us();
  hist = calloc(HBUCKETS + 1, sizeof *hist);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int buf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, host, &to.sin_addr);
  connect(fd, (struct sockaddr *)&to, sizeof to);
  if (get_conn_id(fd, &to) != 0) { fprintf(stderr, "no connect reply\n"); return 1; }

  uint64_t sent_at[MAXSLOTS];
  uint32_t slot_gen[MAXSLOTS];
  uint8_t pkt[98];
  uint64_t done = 0, timeouts = 0;
  uint64_t start = now_us(), end = start + (uint64_t)(seconds * 1e6);
  uint64_t last_connect = start;

  for (int s = 0; s < inflight; s++) slot_gen[s] = 0;
  #define SEND(slot) do { \
    memcpy(pkt, conn_id, 8); \
    pkt[8] = 0; pkt[9] = 0; pkt[10] = 0; pkt[11] = 1; \
    uint32_t tid = ((uint32_t)(slot) << 16) | (slot_gen[slot] & 0xffff); \
    pkt[12] = tid >> 24; pkt[13] = tid >> 16; pkt[14] = tid >> 8; pkt[15] = tid; \
    uint32_t t = rnd() % torrents; \
    pkt[16] = t >> 24; pkt[17] = t >> 16; pkt[18] = t >> 8; pkt[19] = t; \
    memset(pkt + 20, 0x5a, 16); \
    memcpy(pkt + 36, "-UL0001-", 8); \
    for (int k = 44; k < 56; k += 4) { uint32_t r = rnd(); memcpy(pkt + k, &r, 4); } \
    memset(pkt + 56, 0, 24); \
    if (rnd() & 1) { pkt[70] = 0x03; pkt[71] = 0xe8; } /* left = 1000 or 0 */ \
    memset(pkt + 80, 0, 4); pkt[83] = 2; /* started */ \
    memset(pkt + 84, 0, 8); \
    pkt[92] = 0; pkt[93] = 0; pkt[94] = 0; pkt[95] = 50; /* numwant 50 */ \
    uint16_t pp = 1024 + rnd() % 64000; pkt[96] = pp >> 8; pkt[97] = pp; \
    sent_at[slot] = now_us(); \
    send(fd, pkt, 98, 0); \
  } while (0)

  for (int s = 0; s < inflight; s++) SEND(s);
  uint8_t rep[2048];
  while (1) {
    uint64_t t = now_us();
    if (t >= end) break;
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, 10);
    if (r > 0) {
      for (;;) {
        ssize_t n = recv(fd, rep, sizeof rep, MSG_DONTWAIT);
        if (n < 0) break;
        if (n < 8) continue;
        uint32_t tid = ((uint32_t)rep[4] << 24) | ((uint32_t)rep[5] << 16) | ((uint32_t)rep[6] << 8) | rep[7];
        uint32_t slot = tid >> 16;
        if (slot >= (uint32_t)inflight || (tid & 0xffff) != (slot_gen[slot] & 0xffff)) continue;
        uint64_t lat = now_us() - sent_at[slot];
        hist[lat > HBUCKETS ? HBUCKETS : lat]++;
        if (rep[3] == 1) done++;
        slot_gen[slot]++;
        SEND(slot);
      }
    }
    /* A lost packet must not shrink the window: resend slots silent for 1 s. */
    t = now_us();
    for (int s = 0; s < inflight; s++) {
      if (t - sent_at[s] > 1000000) { timeouts++; slot_gen[s]++; SEND(s); }
    }
    if (t - last_connect > 50000000) { get_conn_id(fd, &to); last_connect = t; }
  }
  double elapsed = (now_us() - start) / 1e6;
  uint64_t total = 0;
  for (int i = 0; i <= HBUCKETS; i++) total += hist[i];
  uint64_t acc = 0; long p50 = -1, p99 = -1;
  for (int i = 0; i <= HBUCKETS; i++) {
    acc += hist[i];
    if (p50 < 0 && acc * 2 >= total) p50 = i;
    if (p99 < 0 && acc * 100 >= total * 99) { p99 = i; break; }
  }
  printf("rps=%.0f p50_us=%ld p99_us=%ld ok=%llu timeouts=%llu\n", done / elapsed, p50, p99,
         (unsigned long long)done, (unsigned long long)timeouts);
  return 0;
}
