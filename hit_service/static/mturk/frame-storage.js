/*
 * An in-memory localStorage / sessionStorage for HIT frames.
 *
 * HIT content runs in a sandboxed iframe without allow-same-origin (an opaque origin), where
 * the browser refuses Web Storage: reading window.localStorage throws a SecurityError. Tasks
 * written for MTurk often save progress there, so the service puts this script first in every
 * HIT page it serves: when storage is refused, both names get a Storage-like object kept in the
 * frame's memory (getItem, setItem, removeItem, clear, key, length, and property access). What
 * a task saves lasts as long as the frame: it is gone after a reload, and it is never shared
 * with the service's origin or other HITs.
 */
(function (global) {
  "use strict";

  function memoryStorage() {
    var data = new Map();
    var api = {
      getItem: function (key) {
        key = String(key);
        return data.has(key) ? data.get(key) : null;
      },
      setItem: function (key, value) {
        data.set(String(key), String(value));
      },
      removeItem: function (key) {
        data.delete(String(key));
      },
      clear: function () {
        data.clear();
      },
      key: function (index) {
        var keys = Array.from(data.keys());
        return index >= 0 && index < keys.length ? keys[index] : null;
      },
    };
    return new Proxy(api, {
      get: function (target, name) {
        if (name === "length") {
          return data.size;
        }
        if (typeof name === "symbol" || Object.prototype.hasOwnProperty.call(target, name)) {
          return target[name];
        }
        return data.has(name) ? data.get(name) : undefined;
      },
      set: function (target, name, value) {
        if (typeof name === "symbol" || Object.prototype.hasOwnProperty.call(target, name)) {
          return false;
        }
        data.set(String(name), String(value));
        return true;
      },
      deleteProperty: function (target, name) {
        data.delete(String(name));
        return true;
      },
      has: function (target, name) {
        return Object.prototype.hasOwnProperty.call(target, name) || data.has(name);
      },
      ownKeys: function () {
        return Array.from(data.keys());
      },
      getOwnPropertyDescriptor: function (target, name) {
        if (data.has(name)) {
          return { value: data.get(name), writable: true, enumerable: true, configurable: true };
        }
        return undefined;
      },
    });
  }

  ["localStorage", "sessionStorage"].forEach(function (name) {
    try {
      var probe = global[name];
      probe.getItem("hitflow-probe");
      return; // real storage works here (a frame with its own origin): leave it alone
    } catch (refused) {
      // sandboxed: fall through to the stand-in
    }
    try {
      Object.defineProperty(global, name, { value: memoryStorage(), configurable: true, enumerable: true });
    } catch (cannot) {
      // nothing more to do: the task will see the browser's own error
    }
  });
})(window);
