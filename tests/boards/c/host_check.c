/* Host build of the LED clock firmware's timing logic (boards/firmware/avr/ledclock_logic.c), for
 * tests/boards/test_firmware.py. Prints the board constants, then, for each tick given on stdin (ascending),
 * one line: the tick, the LED lit in each latched row, the counter's Gray word, and the chain's outputs in hex
 * (byte 0 first). */
#include <inttypes.h>
#include <stdio.h>

#include "ledclock_logic.h"

int main(void)
{
    static const uint16_t step_ticks[LC_LATCHED_ROWS] = LC_LATCHED_STEP_TICKS;
    static const uint8_t leds[LC_LATCHED_ROWS] = LC_LATCHED_LEDS;
    printf("crystal_hz %lu\n", (unsigned long)LC_CRYSTAL_HZ);
    printf("row %lu %d\n", (unsigned long)LC_ROW0_STEP_NS, LC_ROW0_LEDS);
    printf("row %lu %d\n", (unsigned long)LC_ROW1_STEP_NS, LC_ROW1_LEDS);
    unsigned total = 0;
    for (int r = 0; r < LC_LATCHED_ROWS; r++) {
        printf("row %lu %d\n", (unsigned long)(step_ticks[r] * LC_TICK_NS), leds[r]);
        total += leds[r];
    }
    printf("counter %d %lu\n", LC_COUNTER_BITS, (unsigned long)(LC_COUNTER_UNIT_TICKS * LC_TICK_NS));
    printf("chain %u %d %d\n", total, LC_COUNTER_OFFSET, LC_CHAIN_BYTES);
    printf("end\n");

    lc_state s;
    lc_init(&s);
    uint32_t want;
    while (scanf("%" SCNu32, &want) == 1) {
        while (s.tick < want)
            lc_advance(&s);
        uint8_t out[LC_CHAIN_BYTES];
        lc_chain(&s, out);
        printf("%" PRIu32, s.tick);
        for (int r = 0; r < LC_LATCHED_ROWS; r++)
            printf(" %d", s.led[r]);
        printf(" %" PRIu32 " ", lc_gray(&s));
        for (int k = 0; k < LC_CHAIN_BYTES; k++)
            printf("%02x", out[k]);
        printf("\n");
    }
    return 0;
}
