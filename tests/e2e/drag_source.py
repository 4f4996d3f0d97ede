"""A GTK3 window that offers the files on its command line as text/uri-list.

xdotool presses on it and moves the real X pointer onto the app, so the app receives a true
XDND drop, exactly as from a file manager. Usage: drag_source.py X Y FILE... (or X Y @LIST, a
file with one path per line, for more files than a command line holds).
Prints "ready" once mapped and "drag-end" when the drag finishes."""
import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402

x, y, files = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
if len(files) == 1 and files[0].startswith("@"):
    with open(files[0][1:], encoding="utf-8") as f:
        files = [line.rstrip("\n") for line in f if line.strip()]
uris = [GLib.filename_to_uri(p, None) for p in files]

win = Gtk.Window(title="drag-source")
win.set_default_size(160, 100)
win.move(x, y)
button = Gtk.Button(label="DRAG")
button.drag_source_set(Gdk.ModifierType.BUTTON1_MASK, [], Gdk.DragAction.COPY)
button.drag_source_add_uri_targets()
button.connect("drag-data-get", lambda w, ctx, data, info, t: data.set_uris(uris))
button.connect("drag-end", lambda *a: print("drag-end", flush=True))
win.add(button)
win.connect("destroy", Gtk.main_quit)
win.connect("map-event", lambda *a: print("ready", flush=True))
win.show_all()
Gtk.main()
