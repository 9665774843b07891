/*
 * decode_check: decodes openpod messages with the C decoder in openpod.h and prints the values,
 * for the host tests.
 *
 *   decode_check --raw < packet.bin   one data packet as raw bytes on stdin
 *   decode_check < lines              one command per line:
 *       D hex    data packet      -> "OK seq ts rate acc gyr ch flags count v..." (per sample ax ay az
 *                                    [gx gy gz]), or "ERR <rc>" (with " seq <n>" for ERR_TYPE)
 *       C hex    control command  -> "CMD status opcode token rate acc gyr ch unix_time_us"
 *       V rate acc gyr ch         -> "RANGES rate_hz acc_g gyr_dps bytes_per_sample max_samples@247"
 *   An empty hex string is a zero-length message. Malformed hex prints "BADHEX".
 *
 * Build: gcc -std=c99 -Wall -Wextra -Werror -pedantic -I.. decode_check.c -o decode_check
 */
#include <stdio.h>

#include "openpod.h"

static char line[1 << 16];
static uint8_t buf[1 << 15];

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static long parse_hex(const char *s, uint8_t *out, size_t cap) {
    size_t n = 0;
    while (*s == ' ') s++;
    while (*s && *s != '\n' && *s != ' ' && *s != '\r') {
        int hi = hexval(s[0]);
        int lo = s[1] ? hexval(s[1]) : -1;
        if (hi < 0 || lo < 0 || n >= cap) return -1;
        out[n++] = (uint8_t)(hi * 16 + lo);
        s += 2;
    }
    return (long)n;
}

static void decode_data(const uint8_t *data, size_t len) {
    openpod_imu_view_t v;
    int rc = openpod_decode_imu(data, len, &v);
    unsigned i, k;
    if (rc == OPENPOD_ERR_TYPE) {
        printf("ERR %d seq %u\n", rc, (unsigned)v.header.seq);
        return;
    }
    if (rc != OPENPOD_OK) {
        printf("ERR %d\n", rc);
        return;
    }
    printf("OK %u %llu %u %u %u %u %u %u", (unsigned)v.header.seq, (unsigned long long)v.header.timestamp_us,
           (unsigned)v.header.rate_code, (unsigned)v.header.acc_range_code, (unsigned)v.header.gyr_range_code,
           (unsigned)v.header.channels, (unsigned)v.header.flags, (unsigned)v.count);
    for (i = 0; i < v.count; i++) {
        int16_t a[3], g[3];
        openpod_view_sample(&v, (uint8_t)i, a, g);
        for (k = 0; k < 3u; k++) printf(" %d", (int)a[k]);
        if (v.header.channels & OPENPOD_CH_GYR) {
            for (k = 0; k < 3u; k++) printf(" %d", (int)g[k]);
        }
    }
    printf("\n");
}

static void decode_command(const uint8_t *data, size_t len) {
    openpod_command_t c;
    uint8_t status = openpod_parse_command(data, len, &c);
    printf("CMD %u %u %u %u %u %u %u %llu\n", (unsigned)status, (unsigned)c.opcode, (unsigned)c.token,
           (unsigned)c.config.rate_code, (unsigned)c.config.acc_range_code, (unsigned)c.config.gyr_range_code,
           (unsigned)c.config.channels, (unsigned long long)c.unix_time_us);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--raw") == 0) {
        size_t n = fread(buf, 1, sizeof buf, stdin);
        decode_data(buf, n);
        return 0;
    }
    while (fgets(line, sizeof line, stdin) != NULL) {
        long n;
        if (line[0] == 'V') {
            unsigned r, a, g, ch;
            if (sscanf(line + 1, "%u %u %u %u", &r, &a, &g, &ch) != 4) {
                printf("BADLINE\n");
                continue;
            }
            printf("RANGES %u %u %u %u %u\n", (unsigned)openpod_rate_hz((uint8_t)r), (unsigned)openpod_acc_range_g((uint8_t)a),
                   (unsigned)openpod_gyr_range_dps((uint8_t)g), (unsigned)openpod_bytes_per_sample((uint8_t)ch),
                   (unsigned)openpod_max_samples(247u, (uint8_t)ch));
            continue;
        }
        if (line[0] != 'D' && line[0] != 'C') {
            if (line[0] != '\n') printf("BADLINE\n");
            continue;
        }
        n = parse_hex(line + 1, buf, sizeof buf);
        if (n < 0) {
            printf("BADHEX\n");
        } else if (line[0] == 'D') {
            decode_data(buf, (size_t)n);
        } else {
            decode_command(buf, (size_t)n);
        }
        fflush(stdout);
    }
    return 0;
}
