/* SPDX-License-Identifier: MIT */
/*
 * An ACPI table for the systemd VM (tests/vm-systemd/run.sh passes it to QEMU
 * with -acpitable): Debian's kernel has neither gpio-sim nor gpio-mockup, but it
 * has gpio-amdpt, which binds to this device and registers an 8-line GPIO chip
 * (label AMDIF030:00) over an unused MMIO page. Its register writes go nowhere
 * and its reads return 0, which is all the scenarios need: a real
 * /dev/gpiochipN for the udev rule and DeviceAllow=char-gpiochip.
 */
DefinitionBlock ("", "SSDT", 2, "IOTGWD", "GPIOTEST", 1)
{
    Scope (\_SB)
    {
        Device (GPT0)
        {
            Name (_HID, "AMDIF030")
            Name (_UID, Zero)
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite, 0xFED40000, 0x00001000)
            })
            Method (_STA, 0, NotSerialized)
            {
                Return (0x0F)
            }
        }
    }
}
