/*
 * encode_fixture: builds openpod messages with openpod.h, for the host tests.
 *
 * Reads commands from stdin, one per line, and prints one line per command:
 *
 *   P seq ts rate acc gyr ch flags count v...   IMU packet from explicit samples (count * 3 or 6 ints,
 *                                               per sample ax ay az [gx gy gz]) -> hex, or "ERR <rc>"
 *   T cap seq0 ts0 rate acc gyr ch flags nsamples
 *                                               a stream as firmware makes it: nsamples synthetic samples
 *                                               (see synth()) packed by the writer into packets of at most
 *                                               cap bytes; seq +1 and timestamp from the sample index per
 *                                               packet -> one hex line per packet, then "END <npackets>"
 *   R opcode token status payload-hex|-         control response -> hex
 *   K rate_mask acc_mask gyr_mask features mount -> capabilities hex
 *   S text                                      CRC-16 of the ASCII text (rest of the line) -> 4 hex digits
 *   H hex                                       CRC-16 of the bytes -> 4 hex digits
 *
 * Build: gcc -std=c99 -Wall -Wextra -Werror -pedantic -I.. encode_fixture.c -o encode_fixture
 */
#include <stdio.h>
#include <stdlib.h>

#include "openpod.h"

static char line[1 << 16];
static uint8_t buf[OPENPOD_MAX_PACKET + 16];
static int16_t acc[OPENPOD_MAX_COUNT * 3];
static int16_t gyr[OPENPOD_MAX_COUNT * 3];

static void print_hex(const uint8_t *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }
    printf("\n");
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* hex string (whitespace-terminated) -> bytes; returns length or -1 */
static long parse_hex(const char *s, uint8_t *out, size_t cap) {
    size_t n = 0;
    while (*s == ' ') s++;
    while (*s && *s != '\n' && *s != ' ') {
        int hi = hexval(s[0]);
        int lo = s[1] ? hexval(s[1]) : -1;
        if (hi < 0 || lo < 0 || n >= cap) return -1;
        out[n++] = (uint8_t)(hi * 16 + lo);
        s += 2;
    }
    return (long)n;
}

/* deterministic sample value: sample i, axis k (0..5) */
static int16_t synth(unsigned long i, unsigned k) {
    long v = (long)((i * 7919ul + k * 104729ul) % 65536ul) - 32768l;
    return (int16_t)v;
}

static void cmd_packet(char *p) {
    unsigned long seq, rate, accr, gyrr, ch, flags, count, i, nvals;
    unsigned long long ts;
    int used = 0, rc;
    openpod_imu_header_t h;
    if (sscanf(p, "%lu %llu %lu %lu %lu %lu %lu %lu%n", &seq, &ts, &rate, &accr, &gyrr, &ch, &flags, &count, &used) < 8 ||
        count > OPENPOD_MAX_COUNT) {
        printf("BADLINE\n");
        return;
    }
    p += used;
    nvals = (ch & OPENPOD_CH_GYR) ? 6u : 3u;
    for (i = 0; i < count * nvals; i++) {
        long v = strtol(p, &p, 10);
        if (nvals == 6u) {
            if (i % 6u < 3u) acc[(i / 6u) * 3u + i % 6u] = (int16_t)v;
            else gyr[(i / 6u) * 3u + i % 6u - 3u] = (int16_t)v;
        } else {
            acc[i] = (int16_t)v;
        }
    }
    memset(&h, 0, sizeof h);
    h.seq = (uint16_t)seq;
    h.timestamp_us = (uint64_t)ts;
    h.rate_code = (uint8_t)rate;
    h.acc_range_code = (uint8_t)accr;
    h.gyr_range_code = (uint8_t)gyrr;
    h.channels = (uint8_t)ch;
    h.flags = (uint8_t)flags;
    rc = openpod_encode_imu(buf, sizeof buf, &h, acc, nvals == 6u ? gyr : NULL, (uint8_t)count);
    if (rc < 0) {
        printf("ERR %d\n", rc);
        return;
    }
    print_hex(buf, (size_t)rc);
}

static void cmd_stream(const char *p) {
    unsigned long cap, seq, rate, accr, gyrr, ch, flags, n, i = 0, npackets = 0;
    unsigned long long ts0;
    openpod_imu_header_t h;
    openpod_writer_t w;
    uint16_t hz;
    if (sscanf(p, "%lu %lu %llu %lu %lu %lu %lu %lu %lu", &cap, &seq, &ts0, &rate, &accr, &gyrr, &ch, &flags, &n) < 9 ||
        cap > sizeof buf) {
        printf("BADLINE\n");
        return;
    }
    hz = openpod_rate_hz((uint8_t)rate);
    while (i < n) {
        int rc;
        size_t len;
        memset(&h, 0, sizeof h);
        h.seq = (uint16_t)seq;
        /* time of the first sample from its index, so no rounding error accumulates */
        h.timestamp_us = (uint64_t)ts0 + (hz ? (uint64_t)i * 1000000u / hz : 0u);
        h.rate_code = (uint8_t)rate;
        h.acc_range_code = (uint8_t)accr;
        h.gyr_range_code = (uint8_t)gyrr;
        h.channels = (uint8_t)ch;
        h.flags = (uint8_t)flags;
        rc = openpod_writer_begin(&w, buf, (size_t)cap, &h);
        if (rc != OPENPOD_OK) {
            printf("ERR %d\n", rc);
            return;
        }
        while (i < n && !openpod_writer_full(&w)) {
            int16_t a[3], g[3];
            unsigned k;
            for (k = 0; k < 3u; k++) {
                a[k] = synth(i, k);
                g[k] = synth(i, k + 3u);
            }
            if (openpod_writer_add(&w, a, g) != OPENPOD_OK) {
                printf("ERR add\n");
                return;
            }
            i++;
        }
        len = openpod_writer_finish(&w);
        print_hex(buf, len);
        seq = (seq + 1u) & 0xFFFFu;
        npackets++;
    }
    printf("END %lu\n", npackets);
}

static void cmd_response(const char *p) {
    unsigned long op, token, status;
    int used = 0, rc;
    long n = 0;
    static uint8_t payload[256];
    if (sscanf(p, "%lu %lu %lu%n", &op, &token, &status, &used) < 3) {
        printf("BADLINE\n");
        return;
    }
    p += used;
    while (*p == ' ') p++;
    if (*p != '-') {
        n = parse_hex(p, payload, sizeof payload);
        if (n < 0) {
            printf("BADHEX\n");
            return;
        }
    }
    rc = openpod_encode_response(buf, sizeof buf, (uint8_t)op, (uint8_t)token, (uint8_t)status, payload, (size_t)n);
    if (rc < 0) {
        printf("ERR %d\n", rc);
        return;
    }
    print_hex(buf, (size_t)rc);
}

static void cmd_caps(const char *p) {
    unsigned long rmask, amask, gmask, features, mount;
    openpod_caps_t c;
    int rc;
    if (sscanf(p, "%lu %lu %lu %lu %lu", &rmask, &amask, &gmask, &features, &mount) < 5) {
        printf("BADLINE\n");
        return;
    }
    c.rate_mask = (uint16_t)rmask;
    c.acc_range_mask = (uint8_t)amask;
    c.gyr_range_mask = (uint8_t)gmask;
    c.features = (uint8_t)features;
    c.mount = (uint8_t)mount;
    rc = openpod_encode_caps(buf, sizeof buf, &c);
    if (rc < 0) {
        printf("ERR %d\n", rc);
        return;
    }
    print_hex(buf, (size_t)rc);
}

int main(void) {
    while (fgets(line, sizeof line, stdin) != NULL) {
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (n == 0) continue;
        switch (line[0]) {
        case 'P':
            cmd_packet(line + 1);
            break;
        case 'T':
            cmd_stream(line + 1);
            break;
        case 'R':
            cmd_response(line + 1);
            break;
        case 'K':
            cmd_caps(line + 1);
            break;
        case 'S':
            printf("%04x\n", (unsigned)openpod_crc16((const uint8_t *)line + 2, n >= 2 ? n - 2 : 0));
            break;
        case 'H': {
            long m = parse_hex(line + 1, buf, sizeof buf);
            if (m < 0) printf("BADHEX\n");
            else printf("%04x\n", (unsigned)openpod_crc16(buf, (size_t)m));
            break;
        }
        default:
            printf("BADLINE\n");
        }
        fflush(stdout);
    }
    return 0;
}
