"""Device kinds: one module per kind, one registry, one name each.

    devices/
        spec.py       DeviceSpec, Capability, Protocol, DefaultSettings (pure data)
        base.py       RawPacket, DeviceEvent, Health, ClockModel, DeviceSession: what every
                      session shares (decode + clock model + loss and health bookkeeping)
        polar.py      the PMD session every Polar sensor shares (a family, not a kind)
        h10.py, verity.py, oh1.py, openpod.py, rsc.py, metawear.py, movesense.py
                      one module per kind: its session and its `SPEC`
        registry.py   get(kind), kinds(), specs(), classify(name, uuids), for_channel(uuid)

Why a kind is not one file with its driver and emulator too: `firmware_interface` is layered
(protocols < devices and sessions < transport and sources < emulation, checked by
import-linter), and a kind's BLE driver needs bleak and its emulator needs Bumble (an
optional extra), while its spec and session are needed by every layer, replay included.
So the kind module holds everything that is specific to the kind and sits low; the layers
above are generic per protocol and find what they need through the spec: `ble` picks its
driver by ``spec.protocol``, `emulation` registers its emulators by ``kind``. Nothing here
imports a layer above.

See `registry` for how to add a sensor. This package imports nothing on its own: import
`firmware_interface.devices.registry` (or a kind module) explicitly.
"""
