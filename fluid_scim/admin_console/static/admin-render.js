/* Fluid admin console: DOM helpers and renderers (no innerHTML: every value is text). */
"use strict";

window.FluidRender = (function () {
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of [].concat(children || [])) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function when(iso) {
    if (!iso) return "never";
    const date = new Date(iso);
    return isNaN(date) ? iso : date.toLocaleString();
  }

  function timeEl(iso) {
    if (!iso) return document.createTextNode("never");
    return el("time", { datetime: iso, text: when(iso) });
  }

  function ago(iso) {
    if (!iso) return "";
    const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
    if (seconds < 60) return "just now";
    if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.round(seconds / 3600) + " h ago";
    return Math.round(seconds / 86400) + " days ago";
  }

  function show(value) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "string") return value;
    return JSON.stringify(value);
  }

  /* The changes of one event: [{path, before, after}] or [{path, added, removed}]. */
  function diffTable(changes) {
    const list = Array.isArray(changes) ? changes : [];
    if (!list.length) return el("p", { text: "No attribute changed." });
    const rows = list.map(function (change) {
      if ("added" in change || "removed" in change) {
        return el("tr", {}, [
          el("th", { scope: "row", text: change.path }),
          el("td", { className: "before" }, "removed: " + ((change.removed || []).join(", ") || "none")),
          el("td", { className: "after" }, "added: " + ((change.added || []).join(", ") || "none")),
        ]);
      }
      return el("tr", {}, [
        el("th", { scope: "row", text: change.path }),
        el("td", { className: "before", text: show(change.before) }),
        el("td", { className: "after", text: show(change.after) }),
      ]);
    });
    return el("table", { className: "diff" }, [
      el("thead", {}, el("tr", {}, [
        el("th", { scope: "col", text: "Attribute" }),
        el("th", { scope: "col", text: "Before" }),
        el("th", { scope: "col", text: "After" }),
      ])),
      el("tbody", {}, rows),
    ]);
  }

  function statusList(status) {
    const items = [
      ["Last request", [timeEl(status.lastRequestAt), " ", ago(status.lastRequestAt)]],
      ["Last success", [timeEl(status.lastSuccessAt)]],
      ["Last error", status.lastErrorAt
        ? [timeEl(status.lastErrorAt), " — ", String(status.lastErrorStatus || ""), " ", status.lastErrorDetail || ""]
        : ["none"]],
      ["Consecutive failures", [String(status.consecutiveFailures)]],
      ["Last hour", [windowText(status.lastHour)]],
      ["Last day", [windowText(status.lastDay)]],
      ["Users", [status.usersTotal + " total, " + status.usersActive + " active, " + status.usersWithAccess + " with access"]],
      ["Groups", [String(status.groupsTotal)]],
      ["Token", status.tokenSet
        ? ["created ", timeEl(status.tokenCreatedAt), ", last used ", timeEl(status.tokenLastUsedAt)]
        : ["not set"]],
    ];
    const nodes = [];
    for (const [term, description] of items) {
      nodes.push(el("dt", { text: term }), el("dd", {}, description));
    }
    return nodes;
  }

  function windowText(w) {
    return w.requests + " requests, " + w.errors + " errors, " + w.unauthorized + " unauthorised (401), "
      + w.queryNotFound + " queries answered 404"
      + (w.withoutToken ? "; " + w.withoutToken + " refused without a token (not from the identity provider)" : "");
  }

  /* Who acted, for people: "scim:entra:<fingerprint>" reads "Microsoft Entra ID · token <fingerprint>". */
  const CLIENTS = { entra: "Microsoft Entra ID", okta: "Okta", other: "SCIM client" };
  function actorText(actor) {
    if (!actor) return "";
    const scim = /^scim:([a-z]+)(?::([0-9a-f]+))?$/.exec(actor);
    if (!scim) return actor;
    return (CLIENTS[scim[1]] || scim[1]) + (scim[2] ? " · token " + scim[2] : " · token not verified");
  }

  return { el: el, when: when, timeEl: timeEl, diffTable: diffTable, statusList: statusList, actorText: actorText };
})();
