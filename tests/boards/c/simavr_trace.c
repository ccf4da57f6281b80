/* Linked into the simulator build of the LED clock firmware only: tells simavr to write every output pin of the
 * board to a VCD file (tests/boards/test_firmware.py reads it back). */
#include <avr/avr_mcu_section.h> /* simavr's (Debian libsimavr-dev: -idirafter /usr/include/simavr) */

AVR_MCU(16000000, "atmega328p");
AVR_MCU_VCD_FILE("ledclock.vcd", 1000);
AVR_MCU_VCD_PORT_PIN('D', 5, "row0_clk");
AVR_MCU_VCD_PORT_PIN('D', 4, "row0_data");
AVR_MCU_VCD_PORT_PIN('D', 3, "row1_clk");
AVR_MCU_VCD_PORT_PIN('D', 2, "row1_data");
AVR_MCU_VCD_PORT_PIN('B', 0, "ser");
AVR_MCU_VCD_PORT_PIN('B', 1, "rclk");
AVR_MCU_VCD_PORT_PIN('B', 4, "srclk");
AVR_MCU_VCD_PORT_PIN('B', 5, "overrun");
