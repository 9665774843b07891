/*
 * openpod.h - openpod v1 wire format for DIY IMU foot pods (single header, C99).
 *
 * The specification is SPEC.md next to this file; this header and the Python codec
 * (codec.py) implement it and are cross-checked byte for byte by tests/test_openpod.py.
 *
 * - No malloc, no globals, no dependencies beyond <stdint.h> and <string.h>.
 * - Every multi-byte field is written and read byte by byte, little-endian, so the code is
 *   correct on any host endianness and never does an unaligned access.
 * - All functions are static inline: include this header wherever you need it.
 * - Compiles as C99 and as C++ (Arduino sketches are C++).
 *
 * Firmware side, typical use (one notification per packet):
 *
 *     uint8_t buf[244];                                    // ATT_MTU - 3, at most
 *     openpod_imu_header_t h = {0};
 *     h.seq = seq++; h.timestamp_us = t_first_sample_us;
 *     h.rate_code = OPENPOD_RATE_200HZ; h.acc_range_code = OPENPOD_ACC_16G;
 *     h.gyr_range_code = OPENPOD_GYR_2000DPS; h.channels = OPENPOD_CH_ACC_GYR;
 *     openpod_writer_t w;
 *     if (openpod_writer_begin(&w, buf, mtu - 3, &h) == OPENPOD_OK) {
 *         while (!openpod_writer_full(&w) && fifo_pop(acc, gyr))   // int16_t acc[3], gyr[3]
 *             openpod_writer_add(&w, acc, gyr);
 *         size_t n = openpod_writer_finish(&w);                    // 0: no samples
 *         if (n) notify(data_handle, buf, n);
 *     }
 *
 * Device side of the control characteristic: openpod_parse_command() returns the status to
 * answer; openpod_encode_response() builds the indication.
 *
 * License: MIT (as the rest of the project).
 */
#ifndef OPENPOD_H
#define OPENPOD_H

#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ version, UUIDs */

#define OPENPOD_VERSION_MAJOR 1u
#define OPENPOD_VERSION_MINOR 0u
#define OPENPOD_MAGIC 0xA0u         /* high nibble of byte 0 */
#define OPENPOD_MAGIC_VERSION 0xA1u /* OPENPOD_MAGIC | OPENPOD_VERSION_MAJOR */

#define OPENPOD_UUID_SERVICE "8a480001-c56d-4498-87d6-01fc5feacbe7"
#define OPENPOD_UUID_DATA "8a480002-c56d-4498-87d6-01fc5feacbe7"         /* notify */
#define OPENPOD_UUID_CONTROL "8a480003-c56d-4498-87d6-01fc5feacbe7"      /* write (with response), indicate */
#define OPENPOD_UUID_CAPABILITIES "8a480004-c56d-4498-87d6-01fc5feacbe7" /* read */

/* The same UUIDs as 16 bytes in little-endian (over-the-air) order, as NimBLE's
 * BLE_UUID128_INIT() and Nordic's ble_uuid128_t expect. Only byte 12 differs between them. */
#define OPENPOD_UUID_LE(last)                                                                       \
    { 0xe7, 0xcb, 0xea, 0x5f, 0xfc, 0x01, 0xd6, 0x87, 0x98, 0x44, 0x6d, 0xc5, (last), 0x00, 0x48, 0x8a }
#define OPENPOD_UUID_SERVICE_LE OPENPOD_UUID_LE(0x01)
#define OPENPOD_UUID_DATA_LE OPENPOD_UUID_LE(0x02)
#define OPENPOD_UUID_CONTROL_LE OPENPOD_UUID_LE(0x03)
#define OPENPOD_UUID_CAPABILITIES_LE OPENPOD_UUID_LE(0x04)

/* ------------------------------------------------------------------ data packet layout */

#define OPENPOD_TYPE_IMU 0x01u

#define OPENPOD_HEADER_SIZE 18u
#define OPENPOD_CRC_SIZE 2u
#define OPENPOD_OVERHEAD 20u /* header + CRC */
#define OPENPOD_MIN_PACKET 6u /* byte 0, type, seq, CRC: common to every packet type */
#define OPENPOD_MAX_COUNT 255u
#define OPENPOD_MAX_PACKET (OPENPOD_OVERHEAD + OPENPOD_MAX_COUNT * 12u) /* 3080 */
#define OPENPOD_ATT_OVERHEAD 3u
#define OPENPOD_MTU247_PAYLOAD 244u /* one notification at ATT_MTU 247 (LE DLE: one radio packet) */
#define OPENPOD_MTU247_MAX_IMU6 18u /* 6-axis samples per 244-byte notification (236 bytes) */
#define OPENPOD_MTU247_MAX_ACC 37u  /* accelerometer-only samples per 244-byte notification (242 bytes) */

/* byte offsets inside an IMU packet */
#define OPENPOD_OFF_MAGIC_VERSION 0u
#define OPENPOD_OFF_TYPE 1u
#define OPENPOD_OFF_SEQ 2u
#define OPENPOD_OFF_TIMESTAMP 4u
#define OPENPOD_OFF_RATE 12u
#define OPENPOD_OFF_ACC_RANGE 13u
#define OPENPOD_OFF_GYR_RANGE 14u
#define OPENPOD_OFF_CHANNELS 15u
#define OPENPOD_OFF_FLAGS 16u
#define OPENPOD_OFF_COUNT 17u
#define OPENPOD_OFF_SAMPLES 18u

#define OPENPOD_CH_ACC 0x01u
#define OPENPOD_CH_GYR 0x02u
#define OPENPOD_CH_ACC_GYR 0x03u

#define OPENPOD_FLAG_TIME_UNIX 0x01u /* timestamp is us since 1970-01-01T00:00:00Z */
#define OPENPOD_FLAG_OVERRUN 0x02u   /* samples were lost on the device right before this packet */

/* sample rate codes (nominal output data rate) */
#define OPENPOD_RATE_50HZ 1u
#define OPENPOD_RATE_100HZ 2u
#define OPENPOD_RATE_200HZ 3u
#define OPENPOD_RATE_400HZ 4u
#define OPENPOD_RATE_800HZ 5u
#define OPENPOD_RATE_1600HZ 6u
#define OPENPOD_RATE_52HZ 7u
#define OPENPOD_RATE_104HZ 8u
#define OPENPOD_RATE_208HZ 9u
#define OPENPOD_RATE_416HZ 10u
#define OPENPOD_RATE_833HZ 11u
#define OPENPOD_RATE_1666HZ 12u
#define OPENPOD_RATE_500HZ 13u
#define OPENPOD_RATE_1000HZ 14u
#define OPENPOD_RATE_CODE_MAX 14u

/* accelerometer range codes: +-(2 << (code - 1)) g */
#define OPENPOD_ACC_2G 1u
#define OPENPOD_ACC_4G 2u
#define OPENPOD_ACC_8G 3u
#define OPENPOD_ACC_16G 4u
#define OPENPOD_ACC_32G 5u
#define OPENPOD_ACC_CODE_MAX 5u

/* gyroscope range codes: +-(125 << (code - 1)) deg/s; 0 = no gyroscope channel */
#define OPENPOD_GYR_NONE 0u
#define OPENPOD_GYR_125DPS 1u
#define OPENPOD_GYR_250DPS 2u
#define OPENPOD_GYR_500DPS 3u
#define OPENPOD_GYR_1000DPS 4u
#define OPENPOD_GYR_2000DPS 5u
#define OPENPOD_GYR_4000DPS 6u
#define OPENPOD_GYR_CODE_MAX 6u

/* return codes (negative = error); the Python codec's OpenpodError subclasses carry the same numbers */
#define OPENPOD_OK 0
#define OPENPOD_ERR_TRUNCATED (-1) /* fewer bytes than the packet needs */
#define OPENPOD_ERR_MAGIC (-2)     /* byte 0 is not 0xA_: not openpod */
#define OPENPOD_ERR_VERSION (-3)   /* another major version */
#define OPENPOD_ERR_CRC (-4)       /* corrupted */
#define OPENPOD_ERR_TYPE (-5)      /* intact packet of an unknown type: skip it */
#define OPENPOD_ERR_FIELD (-6)     /* intact packet with an undefined code (sender bug) / bad encoder argument */
#define OPENPOD_ERR_LENGTH (-7)    /* intact packet whose length disagrees with its header (sender bug) */
#define OPENPOD_ERR_NOSPACE (-8)   /* encoder: the buffer cannot hold even one sample */
#define OPENPOD_ERR_FULL (-9)      /* writer: the packet is full; finish it and begin another */
#define OPENPOD_ERR_ARG (-10)      /* NULL pointer or count 0 */

/* ------------------------------------------------------------------ control characteristic */

#define OPENPOD_OP_START 0x01u      /* no parameters */
#define OPENPOD_OP_STOP 0x02u       /* no parameters */
#define OPENPOD_OP_CONFIGURE 0x03u  /* rate_code, acc_range_code, gyr_range_code, channels */
#define OPENPOD_OP_GET_CONFIG 0x04u /* no parameters; answer: the 4 config bytes + streaming */
#define OPENPOD_OP_SET_TIME 0x05u   /* u64 LE microseconds since the Unix epoch (optional) */
#define OPENPOD_RESPONSE_BIT 0x80u
#define OPENPOD_MAX_COMMAND 20u

#define OPENPOD_STATUS_OK 0x00u
#define OPENPOD_STATUS_UNKNOWN_OPCODE 0x01u
#define OPENPOD_STATUS_INVALID_LENGTH 0x02u
#define OPENPOD_STATUS_INVALID_PARAMETER 0x03u
#define OPENPOD_STATUS_UNSUPPORTED_RATE 0x04u
#define OPENPOD_STATUS_UNSUPPORTED_ACC_RANGE 0x05u
#define OPENPOD_STATUS_UNSUPPORTED_GYR_RANGE 0x06u
#define OPENPOD_STATUS_UNSUPPORTED_CHANNELS 0x07u
#define OPENPOD_STATUS_INVALID_STATE 0x08u
#define OPENPOD_STATUS_ALREADY_IN_STATE 0x09u
#define OPENPOD_STATUS_MTU_TOO_SMALL 0x0Au
#define OPENPOD_STATUS_SENSOR_FAILURE 0x0Bu
#define OPENPOD_STATUS_LOW_BATTERY 0x0Cu
#define OPENPOD_STATUS_NOT_SUPPORTED 0x0Du

/* ------------------------------------------------------------------ capabilities characteristic */

#define OPENPOD_CAPS_SIZE 8u
#define OPENPOD_FEATURE_SET_TIME 0x01u
#define OPENPOD_MOUNT_UNSPECIFIED 0u
#define OPENPOD_MOUNT_LEFT_FOOT 1u
#define OPENPOD_MOUNT_RIGHT_FOOT 2u
#define OPENPOD_MOUNT_FOOT 3u
#define OPENPOD_MOUNT_SACRUM 4u
#define OPENPOD_MOUNT_CHEST 5u
#define OPENPOD_MOUNT_OTHER 6u

/* ------------------------------------------------------------------ types */

typedef struct openpod_imu_header {
    uint16_t seq;           /* +1 per packet on the data characteristic, wraps; 0 after START */
    uint64_t timestamp_us;  /* device time of the FIRST sample in the packet */
    uint8_t rate_code;      /* OPENPOD_RATE_* */
    uint8_t acc_range_code; /* OPENPOD_ACC_* */
    uint8_t gyr_range_code; /* OPENPOD_GYR_*, OPENPOD_GYR_NONE without the gyro channel */
    uint8_t channels;       /* OPENPOD_CH_ACC or OPENPOD_CH_ACC_GYR */
    uint8_t flags;          /* OPENPOD_FLAG_* */
} openpod_imu_header_t;

typedef struct openpod_writer {
    uint8_t *buf;
    uint8_t count;
    uint8_t max_count;
    uint8_t bytes_per_sample;
} openpod_writer_t;

typedef struct openpod_imu_view {
    openpod_imu_header_t header;
    uint8_t count;
    uint8_t bytes_per_sample;
    const uint8_t *samples; /* points into the decoded buffer */
} openpod_imu_view_t;

typedef struct openpod_config {
    uint8_t rate_code;
    uint8_t acc_range_code;
    uint8_t gyr_range_code;
    uint8_t channels;
} openpod_config_t;

typedef struct openpod_command {
    uint8_t opcode;
    uint8_t token;
    openpod_config_t config; /* OPENPOD_OP_CONFIGURE */
    uint64_t unix_time_us;   /* OPENPOD_OP_SET_TIME */
} openpod_command_t;

typedef struct openpod_caps {
    uint16_t rate_mask;     /* bit k: rate code k supported */
    uint8_t acc_range_mask; /* bit k: accelerometer range code k supported */
    uint8_t gyr_range_mask; /* bit k: gyro range code k supported; 0 = no gyroscope */
    uint8_t features;       /* OPENPOD_FEATURE_* */
    uint8_t mount;          /* OPENPOD_MOUNT_* */
} openpod_caps_t;

/* ------------------------------------------------------------------ byte helpers */

static inline void openpod_put_u16le(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
}

static inline void openpod_put_u64le(uint8_t *p, uint64_t v) {
    unsigned i;
    for (i = 0; i < 8u; i++) {
        p[i] = (uint8_t)((v >> (8u * i)) & 0xFFu);
    }
}

static inline void openpod_put_i16le(uint8_t *p, int16_t v) {
    openpod_put_u16le(p, (uint16_t)v); /* conversion to unsigned is defined: modulo 2^16 */
}

static inline uint16_t openpod_get_u16le(const uint8_t *p) {
    return (uint16_t)((uint16_t)p[0] | (uint16_t)((uint16_t)p[1] << 8));
}

static inline uint64_t openpod_get_u64le(const uint8_t *p) {
    uint64_t v = 0;
    unsigned i;
    for (i = 0; i < 8u; i++) {
        v |= (uint64_t)p[i] << (8u * i);
    }
    return v;
}

static inline int16_t openpod_get_i16le(const uint8_t *p) {
    int32_t v = (int32_t)openpod_get_u16le(p); /* portable: no implementation-defined narrowing */
    if (v >= 32768) {
        v -= 65536;
    }
    return (int16_t)v;
}

/* ------------------------------------------------------------------ CRC-16/CCITT-FALSE */

/* poly 0x1021, init 0xFFFF, no reflection, xorout 0x0000; "123456789" -> 0x29B1.
 * Bitwise (no table): 236 bytes take a few microseconds on a Cortex-M4. */
static inline uint16_t openpod_crc16_update(uint16_t crc, const uint8_t *data, size_t len) {
    size_t i;
    unsigned bit;
    for (i = 0; i < len; i++) {
        crc = (uint16_t)(crc ^ (uint16_t)((uint16_t)data[i] << 8));
        for (bit = 0; bit < 8u; bit++) {
            if (crc & 0x8000u) {
                crc = (uint16_t)((uint16_t)(crc << 1) ^ 0x1021u);
            } else {
                crc = (uint16_t)(crc << 1);
            }
        }
    }
    return crc;
}

static inline uint16_t openpod_crc16(const uint8_t *data, size_t len) {
    return openpod_crc16_update(0xFFFFu, data, len);
}

/* ------------------------------------------------------------------ code tables */

/* Nominal rate in Hz for a rate code, 0 if the code is undefined. */
static inline uint16_t openpod_rate_hz(uint8_t code) {
    static const uint16_t table[OPENPOD_RATE_CODE_MAX + 1u] = {0,   50,  100, 200, 400,  800, 1600,
                                                               52,  104, 208, 416, 833, 1666, 500,
                                                               1000};
    return code <= OPENPOD_RATE_CODE_MAX ? table[code] : 0u;
}

/* +-g for an accelerometer range code, 0 if undefined. */
static inline uint8_t openpod_acc_range_g(uint8_t code) {
    return (uint8_t)((code >= 1u && code <= OPENPOD_ACC_CODE_MAX) ? (2u << (code - 1u)) : 0u);
}

/* +-deg/s for a gyro range code, 0 if undefined (or OPENPOD_GYR_NONE). */
static inline uint16_t openpod_gyr_range_dps(uint8_t code) {
    return (uint16_t)((code >= 1u && code <= OPENPOD_GYR_CODE_MAX) ? (125u << (code - 1u)) : 0u);
}

/* 6 (acc), 12 (acc + gyro) or 0 (not a v1 channel mask). */
static inline uint8_t openpod_bytes_per_sample(uint8_t channels) {
    return channels == OPENPOD_CH_ACC ? 6u : (channels == OPENPOD_CH_ACC_GYR ? 12u : 0u);
}

/* Samples that fit one notification at this ATT MTU (0: not even one; START answers MTU_TOO_SMALL). */
static inline uint8_t openpod_max_samples(uint16_t att_mtu, uint8_t channels) {
    uint8_t bps = openpod_bytes_per_sample(channels);
    uint32_t room;
    if (bps == 0u || att_mtu < OPENPOD_ATT_OVERHEAD + OPENPOD_OVERHEAD) {
        return 0u;
    }
    room = ((uint32_t)att_mtu - OPENPOD_ATT_OVERHEAD - OPENPOD_OVERHEAD) / bps;
    return (uint8_t)(room > OPENPOD_MAX_COUNT ? OPENPOD_MAX_COUNT : room);
}

/* OPENPOD_STATUS_OK or INVALID_PARAMETER / UNSUPPORTED_CHANNELS: is this a well-formed v1 config? */
static inline uint8_t openpod_check_config(const openpod_config_t *c) {
    if (openpod_rate_hz(c->rate_code) == 0u || openpod_acc_range_g(c->acc_range_code) == 0u) {
        return OPENPOD_STATUS_INVALID_PARAMETER;
    }
    if (openpod_bytes_per_sample(c->channels) == 0u) {
        return OPENPOD_STATUS_UNSUPPORTED_CHANNELS;
    }
    if (c->channels & OPENPOD_CH_GYR) {
        if (openpod_gyr_range_dps(c->gyr_range_code) == 0u) {
            return OPENPOD_STATUS_INVALID_PARAMETER;
        }
    } else if (c->gyr_range_code != OPENPOD_GYR_NONE) {
        return OPENPOD_STATUS_INVALID_PARAMETER;
    }
    return OPENPOD_STATUS_OK;
}

/* ------------------------------------------------------------------ encoder (firmware) */

/* Start a packet in buf (cap bytes; pass ATT_MTU - 3 to size packets to the link, at most the
 * buffer size). Returns OPENPOD_OK, OPENPOD_ERR_FIELD (undefined code), OPENPOD_ERR_NOSPACE or
 * OPENPOD_ERR_ARG. */
static inline int openpod_writer_begin(openpod_writer_t *w, uint8_t *buf, size_t cap, const openpod_imu_header_t *h) {
    openpod_config_t c;
    size_t room;
    if (w == NULL || buf == NULL || h == NULL) {
        return OPENPOD_ERR_ARG;
    }
    w->buf = NULL;
    w->count = 0;
    w->max_count = 0;
    w->bytes_per_sample = 0;
    c.rate_code = h->rate_code;
    c.acc_range_code = h->acc_range_code;
    c.gyr_range_code = h->gyr_range_code;
    c.channels = h->channels;
    if (openpod_check_config(&c) != OPENPOD_STATUS_OK) {
        return OPENPOD_ERR_FIELD;
    }
    w->bytes_per_sample = openpod_bytes_per_sample(h->channels);
    if (cap < OPENPOD_OVERHEAD + w->bytes_per_sample) {
        return OPENPOD_ERR_NOSPACE;
    }
    room = (cap - OPENPOD_OVERHEAD) / w->bytes_per_sample;
    w->max_count = (uint8_t)(room > OPENPOD_MAX_COUNT ? OPENPOD_MAX_COUNT : room);
    w->buf = buf;
    buf[OPENPOD_OFF_MAGIC_VERSION] = OPENPOD_MAGIC_VERSION;
    buf[OPENPOD_OFF_TYPE] = OPENPOD_TYPE_IMU;
    openpod_put_u16le(buf + OPENPOD_OFF_SEQ, h->seq);
    openpod_put_u64le(buf + OPENPOD_OFF_TIMESTAMP, h->timestamp_us);
    buf[OPENPOD_OFF_RATE] = h->rate_code;
    buf[OPENPOD_OFF_ACC_RANGE] = h->acc_range_code;
    buf[OPENPOD_OFF_GYR_RANGE] = h->gyr_range_code;
    buf[OPENPOD_OFF_CHANNELS] = h->channels;
    buf[OPENPOD_OFF_FLAGS] = h->flags;
    buf[OPENPOD_OFF_COUNT] = 0;
    return OPENPOD_OK;
}

static inline int openpod_writer_full(const openpod_writer_t *w) {
    return w->buf == NULL || w->count >= w->max_count;
}

/* Append one sample (x, y, z in the sensor's int16 counts). gyr is ignored without the gyro
 * channel and required with it. Returns OPENPOD_OK, OPENPOD_ERR_FULL or OPENPOD_ERR_ARG. */
static inline int openpod_writer_add(openpod_writer_t *w, const int16_t acc[3], const int16_t gyr[3]) {
    uint8_t *p;
    unsigned k;
    if (w == NULL || w->buf == NULL || acc == NULL || (w->bytes_per_sample == 12u && gyr == NULL)) {
        return OPENPOD_ERR_ARG;
    }
    if (w->count >= w->max_count) {
        return OPENPOD_ERR_FULL;
    }
    p = w->buf + OPENPOD_OFF_SAMPLES + (size_t)w->count * w->bytes_per_sample;
    for (k = 0; k < 3u; k++) {
        openpod_put_i16le(p + 2u * k, acc[k]);
    }
    if (w->bytes_per_sample == 12u) {
        for (k = 0; k < 3u; k++) {
            openpod_put_i16le(p + 6u + 2u * k, gyr[k]);
        }
    }
    w->count++;
    return OPENPOD_OK;
}

/* Write the count and the CRC. Returns the packet length, 0 if no sample was added. */
static inline size_t openpod_writer_finish(openpod_writer_t *w) {
    size_t len;
    uint16_t crc;
    if (w == NULL || w->buf == NULL || w->count == 0u) {
        return 0u;
    }
    w->buf[OPENPOD_OFF_COUNT] = w->count;
    len = OPENPOD_HEADER_SIZE + (size_t)w->count * w->bytes_per_sample;
    crc = openpod_crc16(w->buf, len);
    openpod_put_u16le(w->buf + len, crc);
    return len + OPENPOD_CRC_SIZE;
}

/* One-shot: count samples, acc and gyr each count * 3 int16 (x, y, z interleaved); gyr may be
 * NULL without the gyro channel. Returns the packet length (> 0) or a negative error;
 * OPENPOD_ERR_NOSPACE if the samples do not all fit in cap bytes. */
static inline int openpod_encode_imu(uint8_t *out, size_t cap, const openpod_imu_header_t *h, const int16_t *acc,
                                     const int16_t *gyr, uint8_t count) {
    openpod_writer_t w;
    unsigned i;
    int rc;
    if (acc == NULL || count == 0u) {
        return OPENPOD_ERR_ARG;
    }
    rc = openpod_writer_begin(&w, out, cap, h);
    if (rc != OPENPOD_OK) {
        return rc;
    }
    if (count > w.max_count) {
        return OPENPOD_ERR_NOSPACE;
    }
    for (i = 0; i < count; i++) {
        rc = openpod_writer_add(&w, acc + 3u * i, gyr != NULL ? gyr + 3u * i : NULL);
        if (rc != OPENPOD_OK) {
            return rc;
        }
    }
    return (int)openpod_writer_finish(&w);
}

/* ------------------------------------------------------------------ decoder (hosts, tests) */

/* Decode an IMU packet. The checks run in the order SPEC.md section 4.6 fixes (the Python codec
 * runs the same order), so both report the same first error. On OPENPOD_OK, out->samples points
 * into data. On OPENPOD_ERR_TYPE, out->header.seq holds the sequence number. */
static inline int openpod_decode_imu(const uint8_t *data, size_t len, openpod_imu_view_t *out) {
    uint8_t channels, count, bps;
    size_t expected;
    uint16_t stored, computed;
    openpod_config_t c;
    if (data == NULL || out == NULL) {
        return OPENPOD_ERR_ARG;
    }
    memset(out, 0, sizeof *out);
    if (len == 0u) {
        return OPENPOD_ERR_TRUNCATED;
    }
    if ((data[0] & 0xF0u) != OPENPOD_MAGIC) {
        return OPENPOD_ERR_MAGIC;
    }
    if ((data[0] & 0x0Fu) != OPENPOD_VERSION_MAJOR) {
        return OPENPOD_ERR_VERSION;
    }
    if (len < OPENPOD_MIN_PACKET) {
        return OPENPOD_ERR_TRUNCATED;
    }
    out->header.seq = openpod_get_u16le(data + OPENPOD_OFF_SEQ);
    stored = openpod_get_u16le(data + len - 2u);
    computed = openpod_crc16(data, len - 2u);
    if (data[OPENPOD_OFF_TYPE] != OPENPOD_TYPE_IMU) {
        return computed != stored ? OPENPOD_ERR_CRC : OPENPOD_ERR_TYPE;
    }
    if (len < OPENPOD_OVERHEAD) {
        return OPENPOD_ERR_TRUNCATED;
    }
    channels = data[OPENPOD_OFF_CHANNELS];
    count = data[OPENPOD_OFF_COUNT];
    bps = openpod_bytes_per_sample(channels);
    expected = OPENPOD_OVERHEAD + (size_t)count * bps;
    if (computed != stored) {
        return (bps != 0u && count != 0u && len < expected) ? OPENPOD_ERR_TRUNCATED : OPENPOD_ERR_CRC;
    }
    /* intact from here on: any remaining error is a bug of the sender */
    if (bps == 0u || count == 0u) {
        return OPENPOD_ERR_FIELD;
    }
    if (len != expected) {
        return OPENPOD_ERR_LENGTH;
    }
    c.rate_code = data[OPENPOD_OFF_RATE];
    c.acc_range_code = data[OPENPOD_OFF_ACC_RANGE];
    c.gyr_range_code = data[OPENPOD_OFF_GYR_RANGE];
    c.channels = channels;
    if (openpod_check_config(&c) != OPENPOD_STATUS_OK) {
        return OPENPOD_ERR_FIELD;
    }
    out->header.timestamp_us = openpod_get_u64le(data + OPENPOD_OFF_TIMESTAMP);
    out->header.rate_code = c.rate_code;
    out->header.acc_range_code = c.acc_range_code;
    out->header.gyr_range_code = c.gyr_range_code;
    out->header.channels = channels;
    out->header.flags = data[OPENPOD_OFF_FLAGS];
    out->count = count;
    out->bytes_per_sample = bps;
    out->samples = data + OPENPOD_OFF_SAMPLES;
    return OPENPOD_OK;
}

/* Sample i (< v->count) of a decoded packet; gyr may be NULL, and is zeroed without gyro. */
static inline void openpod_view_sample(const openpod_imu_view_t *v, uint8_t i, int16_t acc[3], int16_t gyr[3]) {
    const uint8_t *p = v->samples + (size_t)i * v->bytes_per_sample;
    unsigned k;
    for (k = 0; k < 3u; k++) {
        acc[k] = openpod_get_i16le(p + 2u * k);
        if (gyr != NULL) {
            gyr[k] = v->bytes_per_sample == 12u ? openpod_get_i16le(p + 6u + 2u * k) : (int16_t)0;
        }
    }
}

/* ------------------------------------------------------------------ control (device side) */

/* Parse a write to the control characteristic. Returns the status to answer with; cmd->opcode
 * and cmd->token are filled whenever the bytes hold them (token 0 otherwise). Syntax only: check
 * the config against what the device can do with openpod_caps_check_config(). */
static inline uint8_t openpod_parse_command(const uint8_t *data, size_t len, openpod_command_t *cmd) {
    size_t need;
    memset(cmd, 0, sizeof *cmd);
    if (data == NULL || len < 2u) {
        if (data != NULL && len == 1u) {
            cmd->opcode = data[0];
        }
        return OPENPOD_STATUS_INVALID_LENGTH;
    }
    cmd->opcode = data[0];
    cmd->token = data[1];
    switch (data[0]) {
    case OPENPOD_OP_START:
    case OPENPOD_OP_STOP:
    case OPENPOD_OP_GET_CONFIG:
        need = 0u;
        break;
    case OPENPOD_OP_CONFIGURE:
        need = 4u;
        break;
    case OPENPOD_OP_SET_TIME:
        need = 8u;
        break;
    default:
        return OPENPOD_STATUS_UNKNOWN_OPCODE;
    }
    if (len - 2u != need) {
        return OPENPOD_STATUS_INVALID_LENGTH;
    }
    if (data[0] == OPENPOD_OP_CONFIGURE) {
        cmd->config.rate_code = data[2];
        cmd->config.acc_range_code = data[3];
        cmd->config.gyr_range_code = data[4];
        cmd->config.channels = data[5];
        return openpod_check_config(&cmd->config);
    }
    if (data[0] == OPENPOD_OP_SET_TIME) {
        cmd->unix_time_us = openpod_get_u64le(data + 2);
    }
    return OPENPOD_STATUS_OK;
}

/* Status for CONFIGURE given what this device supports (after openpod_check_config said OK). */
static inline uint8_t openpod_caps_check_config(const openpod_caps_t *caps, const openpod_config_t *c) {
    if (!((caps->rate_mask >> c->rate_code) & 1u)) {
        return OPENPOD_STATUS_UNSUPPORTED_RATE;
    }
    if (!((caps->acc_range_mask >> c->acc_range_code) & 1u)) {
        return OPENPOD_STATUS_UNSUPPORTED_ACC_RANGE;
    }
    if (c->channels & OPENPOD_CH_GYR) {
        if (caps->gyr_range_mask == 0u) {
            return OPENPOD_STATUS_UNSUPPORTED_CHANNELS;
        }
        if (!((caps->gyr_range_mask >> c->gyr_range_code) & 1u)) {
            return OPENPOD_STATUS_UNSUPPORTED_GYR_RANGE;
        }
    }
    return OPENPOD_STATUS_OK;
}

/* Build a response (indication): [0x80 | opcode][token][status][payload]. Token 0 marks a
 * device-initiated message. Returns the length or OPENPOD_ERR_NOSPACE / OPENPOD_ERR_ARG. */
static inline int openpod_encode_response(uint8_t *out, size_t cap, uint8_t opcode, uint8_t token, uint8_t status,
                                          const uint8_t *payload, size_t payload_len) {
    if (out == NULL || (payload == NULL && payload_len != 0u)) {
        return OPENPOD_ERR_ARG;
    }
    if (cap < 3u || payload_len > cap - 3u || payload_len > 255u) {
        return OPENPOD_ERR_NOSPACE;
    }
    out[0] = (uint8_t)((opcode & 0x7Fu) | OPENPOD_RESPONSE_BIT);
    out[1] = token;
    out[2] = status;
    if (payload_len != 0u) {
        memcpy(out + 3, payload, payload_len);
    }
    return (int)(3u + payload_len);
}

/* GET_CONFIG answer payload (5 bytes). */
static inline void openpod_encode_config_payload(uint8_t out[5], const openpod_config_t *c, int streaming) {
    out[0] = c->rate_code;
    out[1] = c->acc_range_code;
    out[2] = c->gyr_range_code;
    out[3] = c->channels;
    out[4] = (uint8_t)(streaming ? 1u : 0u);
}

/* Capabilities characteristic value (OPENPOD_CAPS_SIZE bytes). Returns the length or an error. */
static inline int openpod_encode_caps(uint8_t *out, size_t cap, const openpod_caps_t *c) {
    if (out == NULL || c == NULL) {
        return OPENPOD_ERR_ARG;
    }
    if (cap < OPENPOD_CAPS_SIZE) {
        return OPENPOD_ERR_NOSPACE;
    }
    out[0] = OPENPOD_MAGIC_VERSION;
    out[1] = OPENPOD_VERSION_MINOR;
    openpod_put_u16le(out + 2, c->rate_mask);
    out[4] = c->acc_range_mask;
    out[5] = c->gyr_range_mask;
    out[6] = c->features;
    out[7] = c->mount;
    return (int)OPENPOD_CAPS_SIZE;
}

#ifdef __cplusplus
}
#endif

#endif /* OPENPOD_H */
