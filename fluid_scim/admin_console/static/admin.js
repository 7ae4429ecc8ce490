/* Fluid admin console: "Authentication Providers", spoken to /graphql only.
 *
 * Sign-in: Fluid opens /admin#token=<admin JWT>. The credential is read from the fragment once,
 * kept in sessionStorage (this tab only), and the fragment is removed from the address bar. It is
 * sent as "Authorization: Bearer" with credentials: "omit": no cookie is ever involved.
 */
"use strict";

(function () {
  const R = window.FluidRender;
  const el = R.el;
  const STORAGE_KEY = "fluid-admin-credential";
  const PAGE_SIZE = 25;
  const $ = function (id) { return document.getElementById(id); };

  const state = {
    credential: null,
    organisation: null,
    revealedToken: null, // the token value, only between Generate/Save and Copy Token
    historyCursor: null,
  };

  class SignedOut extends Error {}

  /* ---- credential ---- */

  function takeCredentialFromFragment() {
    const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
    const token = fragment.get("token");
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
    if (token) sessionStorage.setItem(STORAGE_KEY, token);
    return sessionStorage.getItem(STORAGE_KEY);
  }

  function signOut(message) {
    sessionStorage.removeItem(STORAGE_KEY);
    state.credential = null;
    state.revealedToken = null;
    $("console").hidden = true;
    $("who").hidden = true;
    $("signed-out").hidden = false;
    $("signed-out-text").textContent = message || "You are signed out. Open this page from Fluid's administration menu to sign in again.";
    announce($("signed-out-text").textContent);
  }

  /* ---- GraphQL ---- */

  async function gql(query, variables) {
    if (!state.credential) throw new SignedOut();
    let response;
    try {
      response = await fetch("/graphql", {
        method: "POST",
        credentials: "omit",
        cache: "no-store",
        headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: "Bearer " + state.credential },
        body: JSON.stringify({ query: query, variables: variables || {} }),
      });
    } catch (error) {
      throw new Error("The service could not be reached; try again.");
    }
    let body = null;
    try { body = await response.json(); } catch (error) { body = null; }
    const firstError = body && body.errors && body.errors[0] ? body.errors[0].message : null;
    if (response.status === 401) {
      signOut("Your sign-in has expired or is not valid (" + (firstError || "401") + "). Open this page again from Fluid.");
      throw new SignedOut();
    }
    if (!response.ok || !body) throw new Error(firstError || "The service answered " + response.status + ".");
    if (body.errors && body.errors.length) throw new Error(firstError);
    return body.data;
  }

  /* A typed union result: the success type, or a Failure whose message is thrown. */
  function expect(result, typename) {
    if (result.__typename === typename) return result;
    const error = new Error(result.message || "Not done (" + result.__typename + ").");
    error.result = result;
    throw error;
  }

  /* ---- feedback ---- */

  let announceTimer = null;
  function announce(text) {
    const region = $("announce");
    region.textContent = "";
    clearTimeout(announceTimer);
    // A fresh text node after a tick, so repeating the same message is announced again.
    announceTimer = setTimeout(function () { region.textContent = text; }, 30);
  }

  function showError(id, message, input) {
    const node = $(id);
    node.textContent = message || "";
    node.hidden = !message;
    if (input) {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
    if (message) announce(message);
  }

  /* Run an action with its button disabled; failures are shown, sign-outs end quietly. */
  async function act(button, errorId, work, input) {
    if (button) button.disabled = true;
    if (errorId) showError(errorId, "", input);
    try {
      await work();
    } catch (error) {
      if (!(error instanceof SignedOut)) {
        if (errorId) showError(errorId, error.message, input);
        else announce(error.message);
        if (input) input.focus();
      }
    } finally {
      if (button) button.disabled = false;
    }
  }

  /* ---- queries ---- */

  const ORGANISATION = `{
    viewer { subject organisation isAdmin expiresAt }
    organisation {
      slug name scimSyncEnabled tenantUrl accessMode accessFilter
      accessGroup { id displayName }
      roleMappings { groups { groupName role } appRoles { appRole role } attributes { filter role } }
      deprovisioningBrake { enabled percent minRemovals windowMinutes }
      scimToken { isSet fingerprint source createdAt lastUsedAt }
    }
  }`;
  const STATUS = `{ provisioningStatus {
    lastRequestAt lastSuccessAt lastErrorAt lastErrorStatus lastErrorDetail consecutiveFailures
    lastHour { requests errors unauthorized queryNotFound withoutToken } lastDay { requests errors unauthorized queryNotFound withoutToken }
    verdict reasons tokenSet tokenCreatedAt tokenLastUsedAt usersTotal usersActive usersWithAccess groupsTotal
  } }`;
  const EVENTS = `query Events($first: Int, $after: String, $outcome: EventOutcome, $kind: EventKind,
      $operation: String, $resourceId: String, $since: DateTime, $until: DateTime) {
    provisioningEvents(first: $first, after: $after, outcome: $outcome, kind: $kind, operation: $operation,
        resourceId: $resourceId, since: $since, until: $until) {
      edges { node { id createdAt kind actor operation status succeeded resourceType resourceId resourceName method path
        scimType detail dialect quirks userAgent tokenFingerprint requestId latencyMs changes } }
      pageInfo { hasNextPage endCursor }
    }
  }`;
  const HELD = `{ heldDeprovisionings(first: 100) { edges { node { id userId userName reason createdAt } } } }`;
  const TOKEN_FIELDS = "isSet fingerprint source createdAt lastUsedAt";
  const ATTRIBUTES = `{ directoryAttributes { undeclaredPolicy
    declarations { path type multiValued caseExact description }
    undeclaredAttributes(first: 100) { path resourceType valueKind firstSeenAt lastSeenAt seenCount exampleResourceId
      exampleUser { userName } } } }`;
  const TYPE_NAMES = { STRING: "String", BOOLEAN: "Boolean", INTEGER: "Integer", DECIMAL: "Decimal", DATE_TIME: "Date and time" };

  /* ---- organisation: SCIM card, access, brake ---- */

  function renderOrganisation(data) {
    const org = data.organisation;
    state.organisation = org;
    $("who-text").textContent = "Signed in as " + data.viewer.subject + " · " + org.name + " (" + org.slug + ")";
    $("who").hidden = false;
    $("org-line").textContent = "SCIM provisioning of " + org.name + " from your identity provider (Microsoft Entra ID, Okta…).";
    $("tenant-url").value = org.tenantUrl;
    renderSync(org.scimSyncEnabled);
    renderTokenMeta(org.scimToken);
    $("access-group").value = org.accessGroup.displayName;
    renderMode(org.accessMode, org.accessFilter);
    renderMappings(org.roleMappings);
    renderBrake(org.deprovisioningBrake);
  }

  function renderSync(enabled) {
    $("sync-disabled").checked = !enabled;
    const line = $("sync-state");
    line.textContent = enabled ? "SCIM User Sync is on: requests are accepted." : "SCIM User Sync is disabled: requests are refused (403).";
    line.className = "state " + (enabled ? "off" : "on");
  }

  function renderTokenMeta(token) {
    const meta = $("token-meta");
    meta.replaceChildren();
    if (!token.isSet) {
      meta.append("No token is set: your identity provider cannot connect.");
      return;
    }
    meta.append(
      "Current token: fingerprint ", el("code", { id: "token-fingerprint", text: token.fingerprint }),
      " (" + (token.source === "GENERATED" ? "generated" : "entered") + "), created ", R.timeEl(token.createdAt),
      ", last used ", R.timeEl(token.lastUsedAt), "."
    );
  }

  const MAPPING_KINDS = {
    group: { tbody: "group-mappings", what: "Directory group", role: "Fluid role" },
    app: { tbody: "app-role-mappings", what: "App role", role: "Fluid role" },
    attribute: { tbody: "attribute-mappings", what: "Attribute filter", role: "Fluid role of attribute rule" },
  };

  function mappingRow(kind, key, role) {
    const index = $(MAPPING_KINDS[kind].tbody).children.length + 1;
    const what = MAPPING_KINDS[kind].what;
    const row = el("tr", {}, [
      el("td", {}, el("input", { type: "text", className: "mapping-key", value: key || "", spellcheck: "false", "aria-label": what + " " + index })),
      el("td", {}, el("input", { type: "text", className: "mapping-role", value: role || "", spellcheck: "false", "aria-label": MAPPING_KINDS[kind].role + " " + index })),
      el("td", {}, el("button", {
        type: "button", className: "small danger", text: "Remove", "aria-label": "Remove " + what.toLowerCase() + " mapping " + index,
        onclick: function () { row.remove(); announce(what + " mapping removed; save to apply."); },
      })),
    ]);
    return row;
  }

  function renderMappings(mappings) {
    $("group-mappings").replaceChildren();
    for (const m of mappings.groups) $("group-mappings").append(mappingRow("group", m.groupName, m.role));
    $("app-role-mappings").replaceChildren();
    for (const m of mappings.appRoles) $("app-role-mappings").append(mappingRow("app", m.appRole, m.role));
    if (mappings.attributes) renderAttributeMappings(mappings.attributes); // saved on their own
  }

  function renderAttributeMappings(attributes) {
    $("attribute-mappings").replaceChildren();
    for (const m of attributes) $("attribute-mappings").append(mappingRow("attribute", m.filter, m.role));
  }

  function renderMode(mode, filter) {
    const radio = { group: "mode-group", all_active: "mode-all-active", attribute: "mode-attribute" }[mode];
    if (radio) $(radio).checked = true;
    $("access-filter").value = filter || "";
    syncFilterInput();
  }

  function chosenMode() {
    const checked = document.querySelector("input[name='access-mode']:checked");
    return checked ? checked.value : null;
  }

  /* The access filter applies to the attribute mode only. */
  function syncFilterInput() {
    $("access-filter").disabled = chosenMode() !== "ATTRIBUTE";
  }

  function collectMappings(tbodyId, keyName, needs) {
    const out = [];
    for (const row of $(tbodyId).children) {
      const key = row.querySelector(".mapping-key").value.trim();
      const role = row.querySelector(".mapping-role").value.trim();
      if (!key && !role) continue;
      if (!key || !role) throw new Error(needs || "Each mapping needs both a name and a Fluid role.");
      out.push({ [keyName]: key, role: role });
    }
    return out;
  }

  function renderBrake(brake) {
    $("brake-enabled").checked = brake.enabled;
    $("brake-percent").value = brake.percent;
    $("brake-min").value = brake.minRemovals;
    $("brake-window").value = brake.windowMinutes;
  }

  async function loadOrganisation() {
    renderOrganisation(await gql(ORGANISATION));
  }

  async function loadTokenMeta() {
    renderTokenMeta((await gql("{ organisation { scimToken { " + TOKEN_FIELDS + " } } }")).organisation.scimToken);
  }

  /* ---- status ---- */

  async function loadStatus() {
    const checklist = loadChecklist(); // the set-up checklist is refreshed with the status
    const status = (await gql(STATUS)).provisioningStatus;
    const verdict = $("verdict");
    const label = { IDLE: "Idle: no requests in the last hour", HEALTHY: "Healthy", AT_RISK: "At risk" }[status.verdict] || status.verdict;
    verdict.textContent = label;
    verdict.className = "verdict " + status.verdict.toLowerCase();
    $("verdict-reasons").replaceChildren(...status.reasons.map(function (reason) { return el("li", { text: reason }); }));
    $("status-list").replaceChildren(...R.statusList(status));
    await checklist;
  }

  /* ---- set-up checklist ---- */

  const CHECKLIST = `{ setupChecklist { key title state observedAt message } setupChecklistSince }`;
  const STEP_STATES = { DONE: "Done", PENDING: "Not yet", PROBLEM: "Problem" };
  let checklistLoading = null;
  let checklistAgain = false;

  /* One load at a time; a call while one runs asks for one more afterwards (what changed meanwhile). */
  function loadChecklist() {
    if (checklistLoading) {
      checklistAgain = true;
      return checklistLoading;
    }
    checklistLoading = fetchChecklist().finally(function () {
      checklistLoading = null;
      if (checklistAgain) {
        checklistAgain = false;
        loadChecklist().catch(function () {});
      }
    });
    return checklistLoading;
  }

  async function fetchChecklist() {
    try {
      const data = await gql(CHECKLIST);
      showError("checklist-error", "");
      renderChecklist(data.setupChecklist, data.setupChecklistSince);
    } catch (error) {
      if (!(error instanceof SignedOut)) showError("checklist-error", "The set-up checklist could not load: " + error.message);
      throw error;
    }
  }

  function checklistStep(step) {
    const state = STEP_STATES[step.state] || step.state;
    return el("li", { className: step.state.toLowerCase(), "data-key": step.key, "data-state": step.state }, [
      el("p", { className: "step-head" }, [
        el("span", { className: "step-title", text: step.title }),
        el("span", { className: "visually-hidden", text: ": " }),
        el("span", { className: "step-state", text: state }),
      ]),
      el("p", { className: "step-message", text: step.message }),
      step.observedAt ? el("p", { className: "step-time" }, ["Last observed ", R.timeEl(step.observedAt)]) : null,
    ]);
  }

  function renderChecklist(steps, since) {
    $("checklist-steps").replaceChildren(...steps.map(checklistStep));
    const done = steps.filter(function (step) { return step.state === "DONE"; }).length;
    const problems = steps.filter(function (step) { return step.state === "PROBLEM"; }).length;
    $("checklist-summary").textContent = done + " of " + steps.length + " steps done"
      + (problems ? "; " + problems + " problem" + (problems > 1 ? "s" : "") + " to fix." : ".");
    const line = $("checklist-since");
    line.replaceChildren();
    if (since) line.append("Counting what happened since ", R.timeEl(since), ".");
  }

  function wireChecklist() {
    $("restart-checklist").addEventListener("click", function (event) {
      act(event.currentTarget, "checklist-error", async function () {
        const data = await gql("mutation { resetSetupChecklist { __typename ... on SetupChecklistReset { since steps { key title state observedAt message } } ... on Failure { message } } }");
        const reset = expect(data.resetSetupChecklist, "SetupChecklistReset");
        renderChecklist(reset.steps, reset.since);
        $("checklist-title").focus();
        announce("Set-up checklist restarted: only what happens from now on counts.");
        loadHistory(true).catch(function () {});
      });
    });
  }

  /* ---- held changes ---- */

  async function loadHeld() {
    const held = (await gql(HELD)).heldDeprovisionings.edges.map(function (edge) { return edge.node; });
    $("held-rows").replaceChildren(...held.map(function (change) {
      return el("tr", {}, [
        el("td", { text: change.userName }),
        el("td", { text: change.reason }),
        el("td", {}, R.timeEl(change.createdAt)),
        el("td", { className: "row" }, [
          el("button", { type: "button", className: "small", text: "Release", "aria-label": "Release the held change of " + change.userName,
            onclick: function (event) { decideHeld("release", [change.id], event.currentTarget); } }),
          el("button", { type: "button", className: "small", text: "Discard", "aria-label": "Discard the held change of " + change.userName,
            onclick: function (event) { decideHeld("discard", [change.id], event.currentTarget); } }),
        ]),
      ]);
    }));
    $("held-table").hidden = held.length === 0;
    $("held-actions").hidden = held.length === 0;
    $("held-empty").hidden = held.length > 0;
  }

  function decideHeld(how, ids, button) {
    return act(button, null, async function () {
      if (how === "release") {
        const data = await gql("mutation($ids: [ID!]) { releaseHeldChanges(ids: $ids) { __typename ... on HeldChangesReleased { released accessChanges } ... on Failure { message } } }", { ids: ids });
        const done = expect(data.releaseHeldChanges, "HeldChangesReleased");
        announce(done.released + " held change(s) released; " + done.accessChanges + " user(s) lost access.");
      } else {
        const data = await gql("mutation($ids: [ID!]) { discardHeldChanges(ids: $ids) { __typename ... on HeldChangesDiscarded { discarded } ... on Failure { message } } }", { ids: ids });
        const done = expect(data.discardHeldChanges, "HeldChangesDiscarded");
        announce(done.discarded + " held change(s) discarded; those users keep access.");
      }
      await Promise.all([loadHeld(), loadStatus(), loadHistory(true)]);
    });
  }

  /* ---- directory attributes ---- */

  function storedText(stored) {
    return stored.converted + " stored value(s) kept, " + stored.dropped + " dropped";
  }

  function declarationRow(declaration) {
    const actions = el("td", { className: "row" });
    const removeButton = el("button", {
      type: "button", className: "small danger", text: "Remove", "aria-label": "Remove " + declaration.path,
      onclick: function () { askRemoval(declaration.path, actions, removeButton); },
    });
    actions.append(removeButton);
    return el("tr", { "data-path": declaration.path }, [
      el("td", {}, el("code", { text: declaration.path })),
      el("td", { text: TYPE_NAMES[declaration.type] || declaration.type }),
      el("td", { text: declaration.multiValued ? "Yes" : "No" }),
      el("td", { text: declaration.caseExact ? "Yes" : "No" }),
      el("td", { text: declaration.description }),
      actions,
    ]);
  }

  /* Removing asks what becomes of the values users hold: kept as undeclared values, or deleted. */
  function askRemoval(path, cell, removeButton) {
    const question = "Remove " + path + "? What becomes of the values users hold?";
    const cancel = el("button", { type: "button", className: "small", text: "Cancel" });
    const group = el("div", { className: "confirm", role: "group", "aria-label": question }, [
      el("span", { text: "Stored values:" }),
      el("button", { type: "button", className: "small", text: "Keep values", "aria-label": "Remove " + path + " and keep its values",
        onclick: function (event) { removeAttribute(path, false, event.currentTarget); } }),
      el("button", { type: "button", className: "small danger", text: "Delete values", "aria-label": "Remove " + path + " and delete its values",
        onclick: function (event) { removeAttribute(path, true, event.currentTarget); } }),
      cancel,
    ]);
    cancel.addEventListener("click", function () {
      group.remove();
      removeButton.hidden = false;
      removeButton.focus();
    });
    removeButton.hidden = true;
    cell.append(group);
    group.querySelector("button").focus();
    announce(question + " Keep values leaves them as undeclared values; Delete values deletes them.");
  }

  function removeAttribute(path, deleteValues, button) {
    return act(button, "declare-error", async function () {
      const data = await gql("mutation($path: String!, $delete: Boolean!) { removeAttribute(path: $path, deleteValues: $delete) { __typename ... on AttributeRemoved { path storedValues { converted dropped } } ... on Failure { message } } }", { path: path, delete: deleteValues });
      const removed = expect(data.removeAttribute, "AttributeRemoved");
      announce(removed.path + " removed; " + (deleteValues
        ? removed.storedValues.dropped + " stored value(s) deleted."
        : removed.storedValues.converted + " stored value(s) kept as undeclared values."));
      await loadAttributes();
      $("declare-path").focus();
      loadHistory(true).catch(function () {});
    });
  }

  function guessType(valueKind) {
    return { boolean: "BOOLEAN", number: "DECIMAL" }[valueKind] || "STRING";
  }

  function undeclaredRow(item) {
    const example = item.exampleUser ? item.exampleUser.userName : (item.exampleResourceId || "");
    return el("tr", { "data-path": item.path }, [
      el("td", {}, el("code", { text: item.path })),
      el("td", { text: item.valueKind + (item.resourceType === "User" ? "" : " (" + item.resourceType + ")") }),
      el("td", {}, R.timeEl(item.firstSeenAt)),
      el("td", {}, R.timeEl(item.lastSeenAt)),
      el("td", { text: String(item.seenCount) }),
      el("td", { text: example }),
      el("td", {}, el("button", {
        type: "button", className: "small", text: "Declare…", "aria-label": "Declare " + item.path,
        onclick: function () { prefillDeclaration(item); },
      })),
    ]);
  }

  function prefillDeclaration(item) {
    $("declare-path").value = item.path;
    $("declare-type").value = guessType(item.valueKind);
    $("declare-multi").checked = item.valueKind === "array";
    $("declare-case").checked = false;
    $("declare-drop").checked = false;
    showError("declare-error", "", $("declare-path"));
    $("declare-type").focus();
    announce("The declaration form is filled with " + item.path + ": choose its type, then press Declare attribute.");
  }

  async function loadAttributes() {
    const attributes = (await gql(ATTRIBUTES)).directoryAttributes;
    $("declared-rows").replaceChildren(...attributes.declarations.map(declarationRow));
    $("declared-table").hidden = attributes.declarations.length === 0;
    $("declared-empty").hidden = attributes.declarations.length > 0;
    $("undeclared-rows").replaceChildren(...attributes.undeclaredAttributes.map(undeclaredRow));
    $("undeclared-table").hidden = attributes.undeclaredAttributes.length === 0;
    $("undeclared-empty").hidden = attributes.undeclaredAttributes.length > 0;
    $("undeclared-policy").value = attributes.undeclaredPolicy;
    $("undeclared-policy").setAttribute("data-saved", attributes.undeclaredPolicy);
  }

  /* ---- history ---- */

  function historyVariables() {
    const variables = { first: PAGE_SIZE };
    const outcome = $("filter-outcome").value;
    const kind = $("filter-kind").value;
    const operation = $("filter-operation").value.trim();
    const resourceId = $("filter-resource").value.trim();
    const since = $("filter-since").value;
    const until = $("filter-until").value;
    if (outcome) variables.outcome = outcome;
    if (kind) variables.kind = kind;
    if (operation) variables.operation = operation;
    if (resourceId) variables.resourceId = resourceId;
    if (since) variables.since = new Date(since).toISOString();
    if (until) variables.until = new Date(until).toISOString();
    return variables;
  }

  function eventRows(event) {
    const failed = !event.succeeded;
    const detailId = "event-" + event.id;
    const resource = event.resourceType
      ? [event.resourceType, event.resourceName, event.resourceId].filter(Boolean).join(" ")
      : (event.path || "");
    const toggle = el("button", {
      type: "button", className: "small", text: "Show changes", "aria-expanded": "false", "aria-controls": detailId,
      "aria-label": "Show changes of " + event.operation + " at " + R.when(event.createdAt),
    });
    const row = el("tr", { className: failed ? "failed event" : "event", "data-operation": event.operation, "data-status": event.status }, [
      el("td", { className: "time" }, R.timeEl(event.createdAt)),
      el("td", {}, el("span", { className: failed ? "outcome-failed" : "outcome-ok", text: (failed ? "Failed " : "OK ") + event.status })),
      el("td", {}, el("code", { text: event.operation })),
      el("td", { className: "actor", title: event.actor || "", text: R.actorText(event.actor) }),
      el("td", { text: resource }),
      el("td", { text: [event.scimType, event.detail].filter(Boolean).join(": ") }),
      el("td", {}, toggle),
    ]);
    const facts = [
      ["Request", [event.method, event.path].filter(Boolean).join(" ")],
      ["Request id", event.requestId],
      ["Client", [event.dialect, event.userAgent].filter(Boolean).join(" · ")],
      ["Compatibility rules", (event.quirks || []).join(", ")],
      ["Token fingerprint", event.tokenFingerprint],
      ["Latency", event.latencyMs === null || event.latencyMs === undefined ? "" : event.latencyMs + " ms"],
    ].filter(function (fact) { return fact[1]; });
    const details = el("tr", { className: "diff-row", id: detailId, hidden: true }, el("td", { colspan: 7 }, [
      R.diffTable(event.changes),
      facts.length ? el("dl", { className: "status-list" }, facts.flatMap(function (fact) {
        return [el("dt", { text: fact[0] }), el("dd", { text: fact[1] })];
      })) : null,
    ]));
    toggle.addEventListener("click", function () {
      const open = details.hidden;
      details.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      toggle.textContent = open ? "Hide changes" : "Show changes";
    });
    return [row, details];
  }

  async function loadHistory(fresh) {
    if (fresh) loadChecklist().catch(function () {}); // an action may have moved a step
    const variables = historyVariables();
    if (!fresh && state.historyCursor) variables.after = state.historyCursor;
    showError("history-error", "");
    const page = (await gql(EVENTS, variables)).provisioningEvents;
    const rows = page.edges.flatMap(function (edge) { return eventRows(edge.node); });
    if (fresh) $("history-rows").replaceChildren(...rows);
    else $("history-rows").append(...rows);
    state.historyCursor = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    $("history-more").hidden = !state.historyCursor;
    $("history-empty").hidden = $("history-rows").children.length > 0;
    return page.edges.length;
  }

  /* ---- webhooks ---- */

  const WEBHOOK_FIELDS = "id url enabled pausedAt health { lastSuccessAt lastFailureAt lastFailure consecutiveFailures pending deadLetters waitingEvents }";
  const WEBHOOKS = `{ webhookEndpoints { ${WEBHOOK_FIELDS} }
    webhookDeliveries(first: 25, status: DEAD) { edges { node { id endpointId eventId eventType subjectId attempts lastError } } } }`;

  function endpointRow(endpoint) {
    const health = endpoint.health;
    const paused = !endpoint.enabled;
    const actions = el("td", { className: "row" }, [
      el("button", {
        type: "button", className: "small", text: paused ? "Resume" : "Pause",
        "aria-label": (paused ? "Resume " : "Pause ") + endpoint.url,
        onclick: function (event) { setPaused(endpoint, !paused, event.currentTarget); },
      }),
      health.deadLetters ? el("button", {
        type: "button", className: "small", text: "Redeliver all", "aria-label": "Redeliver the dead letters of " + endpoint.url,
        onclick: function (event) { redeliverAll(endpoint, event.currentTarget); },
      }) : null,
    ]);
    const waiting = paused && health.waitingEvents ? ", " + health.waitingEvents + " event(s) waiting" : "";
    return el("tr", { "data-endpoint": endpoint.id, className: paused ? "paused" : "" }, [
      el("td", {}, el("code", { text: endpoint.url })),
      el("td", { className: "state", text: paused ? "Paused since " + R.when(endpoint.pausedAt) + waiting : "Active" }),
      el("td", {}, R.timeEl(health.lastSuccessAt)),
      el("td", {}, health.lastFailureAt ? [R.timeEl(health.lastFailureAt), " — " + (health.lastFailure || "")] : "none"),
      el("td", { text: String(health.consecutiveFailures) }),
      el("td", { text: String(health.pending) }),
      el("td", { text: String(health.deadLetters) }),
      actions,
    ]);
  }

  function deadRow(delivery) {
    return el("tr", { "data-delivery": delivery.id }, [
      el("td", {}, el("code", { text: delivery.eventId })),
      el("td", { text: delivery.eventType }),
      el("td", { text: delivery.subjectId }),
      el("td", { text: String(delivery.attempts) }),
      el("td", { text: delivery.lastError || "" }),
      el("td", {}, el("button", {
        type: "button", className: "small", text: "Redeliver", "aria-label": "Redeliver event " + delivery.eventId,
        onclick: function (event) { redeliver(delivery, event.currentTarget); },
      })),
    ]);
  }

  async function loadWebhooks() {
    const answer = await gql(WEBHOOKS);
    const endpoints = answer.webhookEndpoints;
    const dead = answer.webhookDeliveries.edges.map(function (edge) { return edge.node; });
    $("webhook-rows").replaceChildren(...endpoints.map(endpointRow));
    $("webhooks-table").hidden = endpoints.length === 0;
    $("webhooks-empty").hidden = endpoints.length > 0;
    $("dead-rows").replaceChildren(...dead.map(deadRow));
    $("dead-table").hidden = dead.length === 0;
    $("dead-empty").hidden = dead.length > 0;
  }

  function setPaused(endpoint, pause, button) {
    return act(button, "webhooks-error", async function () {
      const name = pause ? "pauseWebhookEndpoint" : "resumeWebhookEndpoint";
      const data = await gql("mutation($id: ID!) { " + name + "(id: $id) { __typename ... on WebhookEndpoint { enabled } ... on Failure { message } } }", { id: endpoint.id });
      expect(data[name], "WebhookEndpoint");
      announce(pause ? "Webhook endpoint " + endpoint.url + " paused: its events wait until you resume it."
        : "Webhook endpoint " + endpoint.url + " resumed: the events that waited are sent in order.");
      await loadWebhooks();
      loadHistory(true).catch(function () {});
    });
  }

  function redeliver(delivery, button) {
    return act(button, "webhooks-error", async function () {
      const data = await gql("mutation($id: ID!) { redeliverWebhookDelivery(id: $id) { __typename ... on WebhookDelivery { status } ... on Failure { message } } }", { id: delivery.id });
      expect(data.redeliverWebhookDelivery, "WebhookDelivery");
      announce("Event " + delivery.eventId + " queued again, with the same webhook-id.");
      await loadWebhooks();
      loadHistory(true).catch(function () {});
    });
  }

  function redeliverAll(endpoint, button) {
    return act(button, "webhooks-error", async function () {
      const data = await gql("mutation($id: ID!) { redeliverDeadLetters(endpointId: $id) { __typename ... on DeadLettersRedelivered { redelivered more } ... on Failure { message } } }", { id: endpoint.id });
      const done = expect(data.redeliverDeadLetters, "DeadLettersRedelivered");
      announce(done.redelivered + " dead letter(s) of " + endpoint.url + " queued again" + (done.more ? "; more remain: press again." : "."));
      await loadWebhooks();
      loadHistory(true).catch(function () {});
    });
  }

  /* ---- actions ---- */

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return;
    }
    throw new Error("The clipboard is not available here: select the value and copy it by hand.");
  }

  function wire() {
    wireChecklist();
    $("sign-out").addEventListener("click", function () { signOut(); $("signed-out-title").focus(); });

    $("copy-tenant-url").addEventListener("click", function (event) {
      act(event.currentTarget, null, async function () {
        try {
          await copyText($("tenant-url").value);
          announce("Tenant URL copied.");
        } catch (error) {
          $("tenant-url").select();
          throw error;
        }
      });
    });

    $("sync-disabled").addEventListener("change", function (event) {
      const box = event.currentTarget;
      const enabled = !box.checked;
      act(box, null, async function () {
        try {
          const data = await gql("mutation($on: Boolean!) { setScimSyncEnabled(enabled: $on) { __typename ... on Organisation { scimSyncEnabled } ... on Failure { message } } }", { on: enabled });
          const org = expect(data.setScimSyncEnabled, "Organisation");
          renderSync(org.scimSyncEnabled);
          announce(org.scimSyncEnabled ? "SCIM User Sync enabled: SCIM requests are accepted." : "SCIM User Sync disabled: SCIM requests are refused.");
        } catch (error) {
          box.checked = !box.checked; // nothing changed
          throw error;
        }
        loadHistory(true).catch(function () {});
      }).then(function () { box.focus(); });
    });

    const tokenInput = $("scim-token");
    tokenInput.addEventListener("input", function () {
      if (state.revealedToken !== null && tokenInput.value !== state.revealedToken) {
        state.revealedToken = null;
        $("copy-token").disabled = true;
      }
      showError("token-error", "", tokenInput);
    });

    $("generate-token").addEventListener("click", function (event) {
      act(event.currentTarget, "token-error", async function () {
        const data = await gql("mutation { generateScimToken { __typename ... on GeneratedScimToken { token fingerprint } ... on Failure { message } } }");
        const generated = expect(data.generateScimToken, "GeneratedScimToken");
        state.revealedToken = generated.token;
        tokenInput.type = "text";
        tokenInput.value = generated.token;
        $("copy-token").disabled = false;
        announce("New token generated and saved (fingerprint " + generated.fingerprint + "); the previous token no longer works. Copy it now: it is shown only once.");
        await loadTokenMeta(); // only the token's fields: unsaved edits elsewhere on the page stay as they are
        loadHistory(true).catch(function () {});
      }, tokenInput);
    });

    $("token-form").addEventListener("submit", function (event) {
      event.preventDefault();
      const value = tokenInput.value;
      act($("save-token"), "token-error", async function () {
        if (!value) throw new Error("Enter a secret token, or press Generate.");
        if (value === state.revealedToken) {
          announce("This token is already saved. Copy it into your identity provider.");
          return;
        }
        const data = await gql("mutation($token: String!) { setScimToken(token: $token) { __typename ... on ScimTokenSet { scimToken { " + TOKEN_FIELDS + " } } ... on WeakToken { message rule } ... on Failure { message } } }", { token: value });
        const result = data.setScimToken;
        $("token-error").setAttribute("data-rule", result.rule || "");
        if (result.__typename === "WeakToken") throw new Error("This token is too weak: " + result.message + ".");
        const saved = expect(result, "ScimTokenSet");
        state.revealedToken = value;
        $("copy-token").disabled = false;
        renderTokenMeta(saved.scimToken);
        announce("Token saved (fingerprint " + saved.scimToken.fingerprint + "); the previous token no longer works. Copy it into your identity provider now.");
        loadHistory(true).catch(function () {});
      }, tokenInput);
    });

    $("copy-token").addEventListener("click", function (event) {
      const button = event.currentTarget;
      act(button, "token-error", async function () {
        if (state.revealedToken === null) throw new Error("Nothing to copy: the token is shown only once, right after Generate or Save.");
        try {
          await copyText(state.revealedToken);
        } catch (error) {
          tokenInput.type = "text";
          tokenInput.select();
          throw error;
        }
        // Shown once: after copying only the fingerprint remains on the page.
        state.revealedToken = null;
        tokenInput.value = "";
        tokenInput.type = "password";
        announce("Token copied. Paste it into your identity provider's Secret Token; it is no longer shown here.");
      }).then(function () { button.disabled = state.revealedToken === null; });
    });

    $("group-form").addEventListener("submit", function (event) {
      event.preventDefault();
      const input = $("access-group");
      act(event.submitter || null, "group-error", async function () {
        const name = input.value.trim();
        if (!name) throw new Error("Enter the name of the access group.");
        const data = await gql("mutation($name: String!) { setAccessGroupName(name: $name) { __typename ... on AccessGroup { displayName } ... on Failure { message } } }", { name: name });
        const group = expect(data.setAccessGroupName, "AccessGroup");
        input.value = group.displayName;
        announce("Access group renamed to " + group.displayName + ".");
        loadHistory(true).catch(function () {});
      }, input);
    });

    $("add-group-mapping").addEventListener("click", function () {
      const row = mappingRow("group", "", "");
      $("group-mappings").append(row);
      row.querySelector("input").focus();
    });
    $("add-app-role-mapping").addEventListener("click", function () {
      const row = mappingRow("app", "", "");
      $("app-role-mappings").append(row);
      row.querySelector("input").focus();
    });
    $("add-attribute-mapping").addEventListener("click", function () {
      const row = mappingRow("attribute", "", "");
      $("attribute-mappings").append(row);
      row.querySelector("input").focus();
    });

    for (const radio of document.querySelectorAll("input[name='access-mode']")) radio.addEventListener("change", syncFilterInput);

    $("mode-form").addEventListener("submit", function (event) {
      event.preventDefault();
      const input = $("access-filter");
      act(event.submitter || null, "mode-error", async function () {
        const mode = chosenMode();
        if (!mode) throw new Error("Choose who may use Fluid.");
        const filter = mode === "ATTRIBUTE" ? input.value.trim() : null;
        if (mode === "ATTRIBUTE" && !filter) throw new Error('Enter the access filter, such as userType eq "Employee".');
        const data = await gql("mutation($mode: AccessMode!, $filter: String) { setAccessMode(mode: $mode, filter: $filter) { __typename ... on AccessModeSet { accessChanges organisation { accessMode accessFilter } } ... on Failure { message } } }", { mode: mode, filter: filter });
        const saved = expect(data.setAccessMode, "AccessModeSet");
        renderMode(saved.organisation.accessMode, saved.organisation.accessFilter);
        announce("Access rule saved; " + saved.accessChanges + " user(s) changed access or roles.");
        await loadHeld();
        loadHistory(true).catch(function () {});
      }, chosenMode() === "ATTRIBUTE" ? input : null);
    });

    $("attribute-rules-form").addEventListener("submit", function (event) {
      event.preventDefault();
      act(event.submitter || null, "attribute-rules-error", async function () {
        const mappings = collectMappings("attribute-mappings", "filter", "Each attribute rule needs both a filter and a Fluid role.");
        const data = await gql("mutation($mappings: [AttributeRoleMappingInput!]!) { setAttributeRoleMappings(mappings: $mappings) { __typename ... on RoleMappingsSet { accessChanges roleMappings { attributes { filter role } } } ... on Failure { message } } }", { mappings: mappings });
        const saved = expect(data.setAttributeRoleMappings, "RoleMappingsSet");
        renderAttributeMappings(saved.roleMappings.attributes);
        announce("Attribute rules saved; " + saved.accessChanges + " user(s) changed access or roles.");
        loadHistory(true).catch(function () {});
      });
    });

    $("roles-form").addEventListener("submit", function (event) {
      event.preventDefault();
      act(event.submitter || null, "roles-error", async function () {
        const groups = collectMappings("group-mappings", "groupName");
        const appRoles = collectMappings("app-role-mappings", "appRole");
        const data = await gql("mutation($groups: [GroupRoleMappingInput!]!, $appRoles: [AppRoleMappingInput!]) { setRoleMappings(groups: $groups, appRoles: $appRoles) { __typename ... on RoleMappingsSet { accessChanges roleMappings { groups { groupName role } appRoles { appRole role } } } ... on Failure { message } } }", { groups: groups, appRoles: appRoles });
        const saved = expect(data.setRoleMappings, "RoleMappingsSet");
        renderMappings(saved.roleMappings);
        announce("Role mappings saved; " + saved.accessChanges + " user(s) changed access or roles.");
        loadHistory(true).catch(function () {});
      });
    });

    $("brake-form").addEventListener("submit", function (event) {
      event.preventDefault();
      act(event.submitter || null, "brake-error", async function () {
        const number = function (id) { const v = $(id).value.trim(); return v === "" ? null : Number(v); };
        const variables = { enabled: $("brake-enabled").checked, percent: number("brake-percent"), minRemovals: number("brake-min"), windowMinutes: number("brake-window") };
        for (const key of ["percent", "minRemovals", "windowMinutes"]) {
          if (variables[key] !== null && !Number.isInteger(variables[key])) throw new Error("The brake's thresholds are whole numbers.");
        }
        const data = await gql("mutation($enabled: Boolean!, $percent: Int, $minRemovals: Int, $windowMinutes: Int) { setDeprovisioningBrake(enabled: $enabled, percent: $percent, minRemovals: $minRemovals, windowMinutes: $windowMinutes) { __typename ... on DeprovisioningBrake { enabled percent minRemovals windowMinutes } ... on Failure { message } } }", variables);
        const brake = expect(data.setDeprovisioningBrake, "DeprovisioningBrake");
        renderBrake(brake);
        announce("Deprovisioning brake " + (brake.enabled ? "on" : "off") + ": " + brake.percent + "% and at least " + brake.minRemovals + " removals within " + brake.windowMinutes + " minutes.");
        loadHistory(true).catch(function () {});
      });
    });

    $("declare-form").addEventListener("submit", function (event) {
      event.preventDefault();
      const input = $("declare-path");
      act(event.submitter || null, "declare-error", async function () {
        const path = input.value.trim();
        if (!path) throw new Error("Enter the attribute's path, such as urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:CustomAttribute.");
        const variables = { input: {
          path: path, type: $("declare-type").value, multiValued: $("declare-multi").checked, caseExact: $("declare-case").checked,
          description: $("declare-description").value.trim(), dropMismatched: $("declare-drop").checked,
        } };
        const data = await gql("mutation($input: AttributeInput!) { declareAttribute(input: $input) { __typename ... on AttributeDeclared { declaration { path type } storedValues { converted dropped } } ... on Failure { message } } }", variables);
        const declared = expect(data.declareAttribute, "AttributeDeclared");
        $("declare-form").reset();
        announce(declared.declaration.path + " declared as " + (TYPE_NAMES[declared.declaration.type] || declared.declaration.type) + "; " + storedText(declared.storedValues) + ".");
        await loadAttributes();
        loadHistory(true).catch(function () {});
      }, input);
    });

    $("undeclared-policy").addEventListener("change", function (event) {
      const select = event.currentTarget;
      act(select, "declare-error", async function () {
        try {
          const data = await gql("mutation($policy: UndeclaredPolicy!) { setUndeclaredPolicy(policy: $policy) { __typename ... on DirectoryAttributes { undeclaredPolicy } ... on Failure { message } } }", { policy: select.value });
          const saved = expect(data.setUndeclaredPolicy, "DirectoryAttributes");
          select.setAttribute("data-saved", saved.undeclaredPolicy);
          announce({ KEEP: "Undeclared attributes are kept and listed.", IGNORE: "Undeclared attributes are ignored.", REJECT: "Requests with undeclared attributes are refused." }[saved.undeclaredPolicy]);
        } catch (error) {
          select.value = select.getAttribute("data-saved") || "KEEP"; // nothing changed
          throw error;
        }
        loadHistory(true).catch(function () {});
      }).then(function () { select.focus(); });
    });

    $("release-all").addEventListener("click", function (event) { decideHeld("release", null, event.currentTarget); });
    $("discard-all").addEventListener("click", function (event) { decideHeld("discard", null, event.currentTarget); });

    $("refresh-status").addEventListener("click", function (event) {
      act(event.currentTarget, null, async function () {
        await Promise.all([loadStatus(), loadHeld(), loadAttributes(), loadHistory(true)]);
        announce("Status and history refreshed.");
      });
    });

    $("refresh-webhooks").addEventListener("click", function (event) {
      act(event.currentTarget, "webhooks-error", async function () {
        await loadWebhooks();
        announce("Webhooks refreshed.");
      });
    });

    $("history-filters").addEventListener("submit", function (event) {
      event.preventDefault();
      act(event.submitter || null, "history-error", async function () {
        const count = await loadHistory(true);
        announce(count ? "History shows " + count + " event(s)" + (state.historyCursor ? " (more available)." : ".") : "No events match.");
      });
    });
    $("history-filters").addEventListener("reset", function () {
      setTimeout(function () { act(null, "history-error", function () { return loadHistory(true); }); }, 0);
    });
    $("history-more").addEventListener("click", function (event) {
      act(event.currentTarget, "history-error", async function () {
        const count = await loadHistory(false);
        announce(count + " more event(s) loaded.");
      });
    });
  }

  async function start() {
    wire();
    state.credential = takeCredentialFromFragment();
    if (!state.credential) {
      signOut("Open this page from Fluid's administration menu: Fluid signs you in.");
      return;
    }
    try {
      await loadOrganisation();
      $("signed-out").hidden = true;
      $("console").hidden = false;
      await Promise.all([loadStatus(), loadHeld(), loadAttributes(), loadHistory(true)]);
      await act(null, "webhooks-error", loadWebhooks); // a failure here is shown in its card, not a sign-out
      document.body.setAttribute("data-ready", "true");
      announce("Authentication Providers loaded.");
    } catch (error) {
      if (error instanceof SignedOut) return;
      signOut("The console could not load: " + error.message);
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
