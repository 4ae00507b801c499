#!/usr/bin/env python3
"""sibvad-app.py: read sibvadfilter's results from Python (PyGObject).

Scores come two ways: the `sibvad` and `sibvad-alarm` bus messages, and per
buffer the GstCustomMeta mirror of GstSibvadMeta (`GstSibvadCustomMeta`,
structure `sibvad`), read in a pad probe.

    python3 sibvad-app.py [--model FILE] [--threshold X] [--frames N] [VIDEO]

Needs python3-gi and gir1.2-gst-plugins-base-1.0 (Debian), and the plugin on
GST_PLUGIN_PATH when it is not installed. Prints one summary line at the end.
"""
import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", help="video file (default: a generated pattern)")
    ap.add_argument("--model", help="model file (default: the installed ped2-lite)")
    ap.add_argument("--threshold", type=float, default=3.0)
    ap.add_argument("--frames", type=int, default=100)
    args = ap.parse_args()

    Gst.init(None)
    if args.video:
        src = 'filesrc location="%s" ! decodebin' % args.video
    else:
        src = ("videotestsrc pattern=ball num-buffers=%d ! "
               "video/x-raw,width=360,height=240,framerate=25/1" % args.frames)
    pipeline = Gst.parse_launch(
        src + " ! videoconvert ! sibvadfilter name=vad message-interval=0 ! fakesink sync=false")
    vad = pipeline.get_by_name("vad")
    if args.model:
        vad.set_property("model-location", args.model)
    vad.set_property("threshold", args.threshold)

    stats = {"frames": 0, "scored": 0, "messages": 0, "alarms": 0, "peak": 0.0}

    def on_buffer(pad, info):
        buf = info.get_buffer()
        meta = buf.get_custom_meta("GstSibvadCustomMeta")
        if meta is None:
            print("buffer without GstSibvadCustomMeta", file=sys.stderr)
            return Gst.PadProbeReturn.OK
        s = meta.get_structure()
        stats["frames"] += 1
        if not s.get_value("warming-up"):
            stats["scored"] += 1
            stats["peak"] = max(stats["peak"], s.get_value("score"))
        return Gst.PadProbeReturn.OK

    vad.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_buffer)

    loop = GLib.MainLoop()
    status = {"code": 0}

    def on_message(bus, msg):
        if msg.type == Gst.MessageType.ELEMENT:
            s = msg.get_structure()
            if s.get_name() == "sibvad":
                stats["messages"] += 1
            elif s.get_name() == "sibvad-alarm":
                print("ALARM %s at %.2f s (score %.2f)" % (
                    s.get_value("state"), s.get_value("timestamp") / Gst.SECOND, s.get_value("score")))
                if s.get_value("state") == "begin":
                    stats["alarms"] += 1
        elif msg.type == Gst.MessageType.ERROR:
            err, _ = msg.parse_error()
            print("error: %s" % err.message, file=sys.stderr)
            status["code"] = 1
            loop.quit()
        elif msg.type == Gst.MessageType.EOS:
            loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        msg = bus.pop_filtered(Gst.MessageType.ERROR)
        if msg:
            print("error: %s" % msg.parse_error()[0].message, file=sys.stderr)
        status["code"] = 1
    else:
        loop.run()
    pipeline.set_state(Gst.State.NULL)
    bus.remove_signal_watch()
    print("frames %(frames)d scored %(scored)d messages %(messages)d alarms %(alarms)d peak %(peak).3f" % stats)
    return status["code"]


if __name__ == "__main__":
    sys.exit(main())
