#!/usr/bin/env python3
"""The two desktop services a tray app talks to, on the test's private session bus.

A headless session has no notification daemon and no panel. This stands in for both, the way
a desktop shell would: it owns org.freedesktop.Notifications (and records every Notify) and
org.kde.StatusNotifierWatcher (and records every tray item that registers). Each record is
one JSON line in LOG. The app is the real one, talking real D-Bus.

    fake_desktop.py serve LOG         the two services
    fake_desktop.py menu LOG          print the tray item's menu labels and icon file, as JSON
    fake_desktop.py click LOG LABEL   click a tray menu item, as a panel would
"""

import json
import sys

from gi.repository import Gio, GLib


NOTIFICATIONS = """
<node><interface name="org.freedesktop.Notifications">
  <method name="Notify">
    <arg type="s" direction="in"/><arg type="u" direction="in"/><arg type="s" direction="in"/>
    <arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="as" direction="in"/>
    <arg type="a{sv}" direction="in"/><arg type="i" direction="in"/><arg type="u" direction="out"/>
  </method>
  <method name="CloseNotification"><arg type="u" direction="in"/></method>
  <method name="GetCapabilities"><arg type="as" direction="out"/></method>
  <method name="GetServerInformation">
    <arg type="s" direction="out"/><arg type="s" direction="out"/>
    <arg type="s" direction="out"/><arg type="s" direction="out"/>
  </method>
</interface></node>
"""

WATCHER = """
<node><interface name="org.kde.StatusNotifierWatcher">
  <method name="RegisterStatusNotifierItem"><arg type="s" direction="in"/></method>
  <method name="RegisterStatusNotifierHost"><arg type="s" direction="in"/></method>
  <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
  <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
  <property name="ProtocolVersion" type="i" access="read"/>
  <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
  <signal name="StatusNotifierHostRegistered"/>
</interface></node>
"""

items = []
next_id = [0]


def notifications_call(conn, sender, path, iface, method, params, invocation):
    if method == "Notify":
        app, _replaces, _icon, summary, body = params.unpack()[:5]
        next_id[0] += 1
        LOG.write(json.dumps({"notify": {"app": app, "summary": summary, "body": body}}) + "\n")
        invocation.return_value(GLib.Variant("(u)", (next_id[0],)))
    elif method == "GetCapabilities":
        invocation.return_value(GLib.Variant("(as)", (["body"],)))
    elif method == "GetServerInformation":
        invocation.return_value(GLib.Variant("(ssss)", ("twindrop-e2e", "twindrop", "1", "1.2")))
    else:
        invocation.return_value(None)


def watcher_call(conn, sender, path, iface, method, params, invocation):
    if method == "RegisterStatusNotifierItem":
        (service,) = params.unpack()
        # An item may register by object path; then the bus name is the caller's.
        name, item_path = (sender, service) if service.startswith("/") else (service, "/StatusNotifierItem")
        items.append(f"{name}{item_path}")
        LOG.write(json.dumps({"tray": {"name": name, "path": item_path}}) + "\n")
        conn.emit_signal(None, path, iface, "StatusNotifierItemRegistered", GLib.Variant("(s)", (items[-1],)))
    invocation.return_value(None)


def watcher_get(conn, sender, path, iface, prop):
    return {
        "RegisteredStatusNotifierItems": GLib.Variant("as", items),
        "IsStatusNotifierHostRegistered": GLib.Variant("b", True),
        "ProtocolVersion": GLib.Variant("i", 0),
    }[prop]


def on_bus(conn, _name):
    conn.register_object(
        "/org/freedesktop/Notifications",
        Gio.DBusNodeInfo.new_for_xml(NOTIFICATIONS).interfaces[0],
        notifications_call,
        None,
        None,
    )
    conn.register_object(
        "/StatusNotifierWatcher",
        Gio.DBusNodeInfo.new_for_xml(WATCHER).interfaces[0],
        watcher_call,
        watcher_get,
        None,
    )


def on_name(_conn, name):
    LOG.write(json.dumps({"owned": name}) + "\n")


def registered_item(log):
    for line in open(log):
        record = json.loads(line)
        if "tray" in record:
            return record["tray"]["name"], record["tray"]["path"]
    sys.exit("no tray item has registered")


def call(bus, name, path, iface, method, args, reply):
    return bus.call_sync(name, path, iface, method, args, GLib.VariantType(reply), 0, 5000, None).unpack()


def menu(log):
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    name, path = registered_item(log)
    props = "org.freedesktop.DBus.Properties"
    menu_path = call(bus, name, path, props, "Get", GLib.Variant("(ss)", ("org.kde.StatusNotifierItem", "Menu")), "(v)")[0]
    icon = call(bus, name, path, props, "Get", GLib.Variant("(ss)", ("org.kde.StatusNotifierItem", "IconName")), "(v)")[0]
    _rev, layout = call(
        bus, name, menu_path, "com.canonical.dbusmenu", "GetLayout", GLib.Variant("(iias)", (0, -1, [])), "(u(ia{sv}av))"
    )
    items = [{"id": child[0], "label": child[1].get("label", ""), "enabled": child[1].get("enabled", True)} for child in layout[2]]
    return bus, name, menu_path, icon, items


if __name__ == "__main__":
    mode, log = sys.argv[1], sys.argv[2]
    if mode == "menu":
        _, _, _, icon, items = menu(log)
        print(json.dumps({"icon": icon, "items": items}))
        sys.exit(0)
    if mode == "click":
        bus, name, menu_path, _, items = menu(log)
        wanted = [i for i in items if i["label"].replace("_", "") == sys.argv[3]]
        if not wanted:
            sys.exit(f"no menu item {sys.argv[3]!r} in {items}")
        event = GLib.Variant("(isvu)", (wanted[0]["id"], "clicked", GLib.Variant("s", ""), 0))
        call(bus, name, menu_path, "com.canonical.dbusmenu", "Event", event, "()")
        sys.exit(0)
    LOG = open(log, "a", buffering=1)
    Gio.bus_own_name(Gio.BusType.SESSION, "org.freedesktop.Notifications", 0, on_bus, on_name, None)
    Gio.bus_own_name(Gio.BusType.SESSION, "org.kde.StatusNotifierWatcher", 0, None, on_name, None)
    GLib.MainLoop().run()
