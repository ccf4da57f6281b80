/* The board's timing, as boards/ledclock.toml ("ledclock-a") defines it.
 *
 * Keep this file and the board file in step: tests/boards/test_firmware.py compiles the firmware's timing
 * logic for the host and checks every LED against the board file's model. Board time is crystal time since
 * the firmware started the timers (all rows together).
 *
 * Rows 0 and 1 are ring counters (74HC164 chains whose last output feeds back to their input) clocked by
 * hardware timers: their clock pins rise exactly at every step, with no interrupt involved.
 * Rows 2.. and the counter are 74HC595 chains: the firmware shifts the next state in during a tick and a
 * third hardware timer raises the latch (RCLK) at every tick boundary, so those LEDs change exactly then.
 */
#ifndef LEDCLOCK_BOARD_H
#define LEDCLOCK_BOARD_H

#define LC_CRYSTAL_HZ 16000000UL

/* Row 0: ring counter clocked by Timer0 (fast PWM, TOP = OCR0A, no prescaler), pin OC0B. */
#define LC_ROW0_STEP_NS 10000UL
#define LC_ROW0_LEDS 20
/* Row 1: ring counter clocked by Timer2 (fast PWM, TOP = OCR2A, prescaler 8), pin OC2B. */
#define LC_ROW1_STEP_NS 40000UL
#define LC_ROW1_LEDS 20
#define LC_TIMER2_PRESCALE 8

/* The tick: the latch period of the 74HC595 chain (Timer1, fast PWM, TOP = ICR1, no prescaler), pin OC1A.
 * It is the step of the first latched row; every latched row's step and the counter's unit are whole ticks. */
#define LC_TICK_NS 160000UL

/* Latched rows, in board-file order after rows 0 and 1: step in ticks, LEDs. */
#define LC_LATCHED_ROWS 3
#define LC_LATCHED_STEP_TICKS {1, 4, 16} /* 160 us, 640 us, 2560 us */
#define LC_LATCHED_LEDS {20, 20, 20}
#define LC_LATCHED_LEDS_TOTAL 60        /* their sum */

/* The Gray counter: board time in units of LC_COUNTER_UNIT_TICKS ticks (51.2 ms), LED 0 = top bit. */
#define LC_COUNTER_BITS 16
#define LC_COUNTER_UNIT_TICKS 320UL

#endif
