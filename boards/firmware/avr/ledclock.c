/* rigsync LED clock, reference firmware for an ATmega328P at 16 MHz (Arduino Nano or Pro Mini 5 V 16 MHz,
 * or a bare chip with a 16 MHz crystal). docs/ledclock.md tells how to build the board around it.
 *
 * Board time 0 is the instant the three timers start together. From then on:
 *   row 0 clock  OC0B = PD5 (Nano D5)   rises every LC_ROW0_STEP_NS   (Timer0, no interrupt)
 *   row 1 clock  OC2B = PD3 (Nano D3)   rises every LC_ROW1_STEP_NS   (Timer2, no interrupt)
 *   latch RCLK   OC1A = PB1 (Nano D9)   rises every LC_TICK_NS        (Timer1; its overflow interrupt shifts
 *                                        the next tick's LEDs into the 74HC595 chain, well before the edge)
 * Every LED change is made by a timer's output-compare hardware on one crystal; the interrupt only prepares
 * data, so its latency (a few microseconds at most) moves no LED. If the interrupt ever misses its tick the
 * overrun LED (PB5, Nano D13) lights and stays lit: the board's time is then wrong until reset.
 *
 * Other pins: row 0 ring data PD4 (D4), row 1 ring data PD2 (D2) (the firmware empties and seeds the rings
 * through them, then leaves them as inputs: each ring's last output feeds its data input through 10 kOhm);
 * 74HC595 serial data PB0 (D8), shift clock PB4 (D12).
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <stdint.h>

#include "ledclock_logic.h"

#define CYCLES(ns) ((uint32_t)((uint64_t)(ns) * LC_CRYSTAL_HZ / 1000000000ULL))
#define ROW0_CYCLES CYCLES(LC_ROW0_STEP_NS)
#define ROW1_TIMER_COUNTS (CYCLES(LC_ROW1_STEP_NS) / LC_TIMER2_PRESCALE)
#define TICK_CYCLES CYCLES(LC_TICK_NS)

_Static_assert((uint64_t)LC_ROW0_STEP_NS * LC_CRYSTAL_HZ % 1000000000ULL == 0, "row 0 step: whole cycles");
_Static_assert((uint64_t)LC_ROW1_STEP_NS * LC_CRYSTAL_HZ % (1000000000ULL * LC_TIMER2_PRESCALE) == 0,
               "row 1 step: whole Timer2 counts");
_Static_assert((uint64_t)LC_TICK_NS * LC_CRYSTAL_HZ % 1000000000ULL == 0, "tick: whole cycles");
_Static_assert(ROW0_CYCLES >= 2 && ROW0_CYCLES <= 256, "row 0 step must fit 8-bit Timer0 (2 to 256 cycles)");
_Static_assert(ROW1_TIMER_COUNTS >= 2 && ROW1_TIMER_COUNTS <= 256, "row 1 step must fit 8-bit Timer2");
_Static_assert(TICK_CYCLES >= 2048 && TICK_CYCLES <= 65536, "tick: time to shift the chain, fits Timer1");
_Static_assert(LC_TIMER2_PRESCALE == 8, "Timer2's clock select below is for prescaler 8");
_Static_assert(LC_CHAIN_OUTPUTS <= 255, "chain indices are 8-bit");

#define ROW0_CLK PD5
#define ROW0_DATA PD4
#define ROW1_CLK PD3
#define ROW1_DATA PD2
#define SER PB0
#define RCLK PB1
#define SRCLK PB4
#define OVERRUN_LED PB5

static lc_state state;
#ifdef LC_SIM_TICKS
static volatile uint8_t sim_done;
#endif

/* Shift one state into the 74HC595 chain (outputs change only at the next RCLK edge). */
static void shift_chain(const lc_state *s)
{
    uint8_t out[LC_CHAIN_BYTES];
    lc_chain(s, out);
    for (uint8_t k = LC_CHAIN_BYTES; k-- > 0;) { /* the last output first: it travels furthest */
        uint8_t v = out[k];
        for (uint8_t n = 8; n; n--, v = (uint8_t)(v << 1)) {
            if (v & 0x80)
                PORTB |= _BV(SER);
            else
                PORTB &= (uint8_t)~_BV(SER);
            PORTB |= _BV(SRCLK);
            PORTB &= (uint8_t)~_BV(SRCLK);
        }
    }
}

/* Empty a ring of `leds` 74HC164 outputs: clock pulses with its data input held low (the clock pin still a
 * plain output); then hold the data input high, so that the ring's next clock edge lights its first LED. */
static void clear_ring(uint8_t clk, uint8_t data, uint8_t leds)
{
    DDRD |= _BV(data);
    PORTD &= (uint8_t)~_BV(data);
    for (uint8_t i = 0; i < leds; i++) {
        PORTD |= _BV(clk);
        PORTD &= (uint8_t)~_BV(clk);
    }
    PORTD |= _BV(data);
}

/* The tick that just began was latched from `state`; prepare the next one. (TOV1 is set at TOP, one cycle
 * before the latch rises at BOTTOM; the first shift comes dozens of cycles later.) */
ISR(TIMER1_OVF_vect)
{
    lc_advance(&state);
    shift_chain(&state);
    if (TIFR1 & _BV(TOV1))
        PORTB |= _BV(OVERRUN_LED); /* the next tick began while shifting: its LEDs were wrong */
#ifdef LC_SIM_TICKS
    if (state.tick >= LC_SIM_TICKS) {
        TIMSK1 = 0;
        sim_done = 1;
    }
#endif
}

int main(void)
{
    DDRD |= _BV(ROW0_CLK) | _BV(ROW1_CLK);
    DDRB |= _BV(SER) | _BV(RCLK) | _BV(SRCLK) | _BV(OVERRUN_LED);
    clear_ring(ROW0_CLK, ROW0_DATA, LC_ROW0_LEDS);
    clear_ring(ROW1_CLK, ROW1_DATA, LC_ROW1_LEDS);
    lc_init(&state);
    shift_chain(&state);

    /* Each timer forces its output high (normal mode, "set on match", force): that rising edge lights LED 0 of
     * both rings and latches board time 0's LEDs into the chain. The outputs stay high as the timers start, so
     * the first edge each row sees after board time 0 is its first step, whether or not the chip sets its
     * outputs again when the counters start at BOTTOM. */
    GTCCR = _BV(TSM) | _BV(PSRASY) | _BV(PSRSYNC); /* hold every prescaler: the timers start together */
    TCCR0A = _BV(COM0B1) | _BV(COM0B0);
    TCCR0B = _BV(FOC0B);
    TCCR2A = _BV(COM2B1) | _BV(COM2B0);
    TCCR2B = _BV(FOC2B);
    TCCR1B = 0; /* normal mode, stopped (whatever a bootloader left) */
    TCCR1A = _BV(COM1A1) | _BV(COM1A0);
    TCCR1C = _BV(FOC1A);
    PORTD &= (uint8_t)~(_BV(ROW0_DATA) | _BV(ROW1_DATA));
    DDRD &= (uint8_t)~(_BV(ROW0_DATA) | _BV(ROW1_DATA)); /* now each ring's last output drives its input */
    lc_advance(&state);
    shift_chain(&state); /* tick 1's LEDs, latched by Timer1's first edge */

    /* Fast PWM, TOP = OCR0A, OC0B set at BOTTOM: a rising edge each time the counter wraps. */
    OCR0A = (uint8_t)(ROW0_CYCLES - 1);
    OCR0B = (uint8_t)(ROW0_CYCLES / 2 - 1);
    TCNT0 = 0;
    TCCR0A = _BV(COM0B1) | _BV(WGM01) | _BV(WGM00);
    TCCR0B = _BV(WGM02) | _BV(CS00);
    OCR2A = (uint8_t)(ROW1_TIMER_COUNTS - 1);
    OCR2B = (uint8_t)(ROW1_TIMER_COUNTS / 2 - 1);
    TCNT2 = 0;
    TCCR2A = _BV(COM2B1) | _BV(WGM21) | _BV(WGM20);
    TCCR2B = _BV(WGM22) | _BV(CS21);
    /* Fast PWM, TOP = ICR1, OC1A set at BOTTOM: the latch rises as each tick begins. */
    ICR1 = (uint16_t)(TICK_CYCLES - 1);
    OCR1A = (uint16_t)(TICK_CYCLES / 2 - 1);
    TCNT1 = 0;
    TCCR1A = _BV(COM1A1) | _BV(WGM11);
    TCCR1B = _BV(WGM13) | _BV(WGM12) | _BV(CS10);
    TIFR1 = _BV(TOV1);
    TIMSK1 = _BV(TOIE1);
    sei();
    GTCCR = 0; /* board time 0 */

    set_sleep_mode(SLEEP_MODE_IDLE); /* the timers run on in idle */
    for (;;) {
#ifdef LC_SIM_TICKS
        if (sim_done) {
            cli();
            sleep_cpu(); /* simavr ends the simulation here */
        }
#endif
        sleep_mode();
    }
}
