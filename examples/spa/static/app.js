// A single-page app in cookie mode. The access token lives in `session` below and nowhere
// else (no localStorage, sessionStorage or document.cookie): a reload forgets it and the
// page asks the authority for a new one with the refresh cookie, which is httpOnly, so no
// script here, injected or not, can read it. Every request that sends the cookie carries
// X-Authority-CSRF: 1, which no cross-site form can set.

const CSRF = { "X-Authority-CSRF": "1" };
// Refresh this long before the token's expires_in has passed, so it never expires in flight.
const SKEW_MS = 5000;

const $ = (id) => document.getElementById(id);
const config = await (await fetch("/config.json")).json();

let session = null; // { token, expiresAt, name }
let refreshing = null; // the refresh in flight: concurrent callers share it

// The authority refused (an OAuth error body): the session is over, unlike a network failure.
class Refused extends Error {
  constructor(status, body) {
    super(body.error_description || body.error || `HTTP ${status}`);
    this.error = body.error || "";
  }
}

async function tokenRequest(parameters) {
  const response = await fetch(`${config.issuer}/token`, {
    method: "POST",
    credentials: "include", // the refresh cookie: set by the answer, sent with a refresh
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...CSRF },
    body: new URLSearchParams({ ...parameters, client_id: config.client_id }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Refused(response.status, body);
  return {
    token: body.access_token,
    expiresAt: Date.now() + body.expires_in * 1000 - SKEW_MS,
  };
}

function subject(token) {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload)).sub;
}

function refresh() {
  refreshing ??= tokenRequest({ grant_type: "refresh_token" })
    .then((fresh) => {
      session = { ...fresh, name: session?.name ?? subject(fresh.token) };
    })
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

function apiGet(path) {
  // A bearer token, no cookies: the API's CORS needs no credentials.
  return fetch(`${config.api}${path}`, {
    headers: { Authorization: `Bearer ${session.token}` },
  });
}

// GET from the API: refresh first when the token has expired, and once more (then retry)
// when the API answers 401 anyway (its clock, a revoked key).
async function api(path) {
  if (!session || Date.now() >= session.expiresAt) await refresh();
  let response = await apiGet(path);
  if (response.status === 401) {
    await refresh();
    response = await apiGet(path);
  }
  if (!response.ok) throw new Error(`the API answered ${response.status}`);
  return response.json();
}

function show(signedIn, error = "") {
  $("status").textContent = signedIn ? `signed in as ${session.name}` : "signed out";
  $("error").textContent = error;
  $("login").hidden = signedIn;
  $("account").hidden = !signedIn;
  if (!signedIn) {
    $("items").replaceChildren();
    $("sub").textContent = "";
  }
}

function signedOut(reason) {
  session = null;
  show(false, reason);
}

// What a failure means to the user: a refused refresh ends the session, anything else
// (the network, CORS) leaves it to try again.
function failed(error) {
  if (error instanceof Refused) {
    signedOut(error.error === "invalid_grant" ? "your session has ended: sign in again" : "");
  } else if (session) {
    show(true, `could not reach the server: ${error.message}`);
  } else {
    signedOut(`could not reach the authority: ${error.message}`);
  }
}

async function loadItems() {
  try {
    const answer = await api("/items");
    show(true);
    $("sub").textContent = answer.sub;
    $("items").replaceChildren(
      ...answer.items.map((item) => {
        const li = document.createElement("li");
        li.textContent = item.name;
        return li;
      }),
    );
    $("loads").textContent = String(Number($("loads").textContent) + 1);
  } catch (error) {
    failed(error);
  }
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("username").value;
  try {
    const fresh = await tokenRequest({
      grant_type: "password",
      username: name,
      password: $("password").value,
      scope: config.scope,
    });
    session = { ...fresh, name };
    $("password").value = "";
    await loadItems();
  } catch (error) {
    if (error instanceof Refused) signedOut(error.message);
    else failed(error);
  }
});

$("reload").addEventListener("click", loadItems);

$("logout").addEventListener("click", async () => {
  try {
    await fetch(`${config.issuer}/logout`, { method: "POST", credentials: "include", headers: CSRF });
    signedOut("");
  } catch (error) {
    signedOut(`the authority did not confirm the sign-out: ${error.message}`);
  } finally {
    session = null;
  }
});

// A reload: the cookie may still hold a session.
try {
  await refresh();
  await loadItems();
} catch (error) {
  if (error instanceof Refused) signedOut("");
  else failed(error);
}
