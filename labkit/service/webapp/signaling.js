// The labkit signaling protocol over one WebSocket (docs/protocol.md).
// ACS: the part of CallAgent that talks to the service.

const PROTOCOL_VERSION = 1;

export class ServiceError extends Error {
  constructor({ code, message, hint }) {
    super(message || code);
    this.code = code;
    this.hint = hint || "";
  }
}

export function uuid4() {
  // crypto.randomUUID needs a secure context; getRandomValues does not (a page on a LAN over http).
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const ACCESS_CODE_KEY = "labkit.accessCode";
const nameSecretKey = (name) => `labkit.nameSecret.${name}`;

/** The service's access code: from the page's `?code=` (a link the teacher shares), else the one last used. */
export function accessCode() {
  return new URLSearchParams(location.search).get("code") || localStorage.getItem(ACCESS_CODE_KEY) || "";
}

export function rememberAccessCode(code) {
  if (code) localStorage.setItem(ACCESS_CODE_KEY, code);
}

function accessHeaders() {
  const code = accessCode();
  return code ? { "X-Labkit-Access-Code": code } : {};
}

/** Whether the service needs an access code (GET /health says so). */
export async function needsAccessCode() {
  try {
    const response = await fetch("health");
    return response.ok && (await response.json()).accessCodeRequired === true;
  } catch {
    return false;
  }
}

/** POST /api/token for `name`; the name's secret is kept in this browser, so the name stays ours. */
export async function requestToken(name) {
  const request = { userId: name };
  const secret = localStorage.getItem(nameSecretKey(name));
  if (secret) request.nameSecret = secret;
  const response = await fetch("api/token", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...accessHeaders() },
    body: JSON.stringify(request),
  });
  const body = await response.json();
  if (!response.ok) throw new ServiceError(body.error || { code: "token-request-failed", message: response.statusText });
  if (typeof body.nameSecret === "string") localStorage.setItem(nameSecretKey(name), body.nameSecret);
  return body; // {token, userId, nameSecret}
}

/** When a JWT expires (ms since the epoch), from its `exp` claim; null if it has none. */
export function tokenExpiry(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(payload.padEnd(payload.length + ((4 - (payload.length % 4)) % 4), "="))).exp;
    return typeof exp === "number" ? exp * 1000 : null;
  } catch {
    return null;
  }
}

export async function listUsers() {
  const response = await fetch("api/users", { headers: accessHeaders() });
  return response.ok ? response.json() : [];
}

/** Closes that reconnecting cannot mend: a refused or revoked token (4401), a sign-in elsewhere (4409). */
const FINAL_CLOSE_CODES = [4401, 4409];

/** One signed-in WebSocket. Service messages are dispatched as events named after their type. */
export class SignalingClient extends EventTarget {
  constructor(url) {
    super();
    this.url = url || new URL("ws", location.href.replace(/^http/, "ws")).href;
    this.userId = null;
    this.iceServers = [];
    this.iceTransportPolicy = "all";
    this.displayName = "";
    this._pending = new Map(); // ref -> {resolve, reject}
    this._refs = 0;
    this._socket = null;
    this._tokenProvider = null;
    this._reconnecting = false;
    this._closing = false;
  }

  /**
   * After an unexpected close (the service restarted, the network blinked), sign in again with a token
   * from `tokenProvider`, waiting 0.25 s and then twice as long each time up to 4 s, for up to 120 s.
   * Events: `disconnected` when the socket drops, `reconnected` once signed in again; `closed` only
   * when it is over for good (a refused or revoked token, a sign-in elsewhere, or giving up).
   */
  enableReconnect(tokenProvider) {
    this._tokenProvider = tokenProvider;
  }

  /** Open the socket and sign in; resolves with the signed-in message. */
  signIn(token, displayName) {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url);
      this._socket = socket;
      let signedIn = false;
      socket.onopen = () =>
        socket.send(
          JSON.stringify({ type: "sign-in", token, displayName, protocolVersion: PROTOCOL_VERSION, canRollBack: true }),
        );
      socket.onmessage = (event) => {
        let message;
        try {
          message = JSON.parse(event.data);
        } catch {
          console.warn("labkit: a frame that is not JSON", event.data);
          return;
        }
        if (!signedIn) {
          if (message.type === "signed-in") {
            signedIn = true;
            this.userId = message.userId;
            this.iceServers = message.iceServers || []; // STUN, and TURN with credentials that expire
            this.iceTransportPolicy = message.iceTransportPolicy || "all";
            this.displayName = message.displayName;
            resolve(message);
          } else if (message.type === "error") {
            reject(new ServiceError(message));
          }
          return;
        }
        this._receive(message);
      };
      socket.onclose = (event) => {
        clearTimeout(this._refreshTimer);
        for (const { reject: fail } of this._pending.values())
          fail(new ServiceError({ code: "connection-closed", message: "The connection to the service closed." }));
        this._pending.clear();
        if (!signedIn) reject(new ServiceError({ code: "connection-closed", message: `The service closed the connection (${event.code}).` }));
        if (this._reconnecting) return; // a failed attempt: the reconnect loop goes on
        if (signedIn && this._tokenProvider && !this._closing && !FINAL_CLOSE_CODES.includes(event.code)) {
          this.dispatchEvent(new CustomEvent("disconnected", { detail: { code: event.code } }));
          this._reconnect();
          return;
        }
        this.dispatchEvent(new CustomEvent("closed", { detail: { code: event.code, reason: event.reason } }));
      };
    });
  }

  get isOpen() {
    return this._socket !== null && this._socket.readyState === WebSocket.OPEN;
  }

  /** Send a message and wait for the reply (or error) that carries its ref. */
  request(message) {
    const ref = `r${++this._refs}`;
    return new Promise((resolve, reject) => {
      this._pending.set(ref, { resolve, reject });
      this.send({ ...message, ref });
    });
  }

  send(message) {
    if (!this.isOpen) throw new ServiceError({ code: "connection-closed", message: "Not connected to the service." });
    this._socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  close() {
    this._closing = true;
    if (this._socket) this._socket.close(1000, "signed out");
  }

  async _reconnect() {
    this._reconnecting = true;
    const giveUpAt = Date.now() + 120_000;
    let delay = 250;
    let code = 1006;
    while (!this._closing) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      try {
        await this.signIn(await this._tokenProvider(), this.displayName);
        this._reconnecting = false;
        this.dispatchEvent(new Event("reconnected"));
        return;
      } catch (error) {
        if (String(error.code || "").startsWith("token-") || error.code === "user-deleted" || Date.now() > giveUpAt) {
          code = 4401;
          break;
        }
        delay = Math.min(delay * 2, 4_000);
      }
    }
    this._reconnecting = false;
    this.dispatchEvent(new CustomEvent("closed", { detail: { code, reason: "could not reconnect" } }));
  }

  /**
   * Send the service a fresh token `beforeMs` before the current one expires, for as long as
   * the socket is open (ACS: the credential's tokenRefresher, refreshing proactively).
   * `refresher` returns a promise of a new token.
   */
  keepTokenFresh(token, refresher, beforeMs = 60_000) {
    clearTimeout(this._refreshTimer);
    const expiresMs = tokenExpiry(token);
    if (expiresMs === null) return;
    this._refreshTimer = setTimeout(async () => {
      if (!this.isOpen) return;
      try {
        const fresh = await refresher();
        await this.request({ type: "refresh-token", token: fresh });
        this.keepTokenFresh(fresh, refresher, beforeMs);
      } catch (error) {
        console.warn("labkit: the token could not be refreshed; trying again in 5 s", error);
        this._refreshTimer = setTimeout(() => this.keepTokenFresh(token, refresher, beforeMs), 5_000);
      }
    }, Math.max(0, expiresMs - beforeMs - Date.now()));
  }

  _receive(message) {
    const waiter = message.ref ? this._pending.get(message.ref) : undefined;
    if (waiter) {
      this._pending.delete(message.ref);
      if (message.type === "error") waiter.reject(new ServiceError(message));
      else waiter.resolve(message);
    }
    if (message.type === "error" && waiter) return;
    this.dispatchEvent(new CustomEvent(message.type, { detail: message }));
  }
}
