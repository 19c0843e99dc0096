// The API client of the studio: same origin, bearer token, one error type for every failure.
//
// Every failure the page can meet becomes an ApiError with a message for people: the API's own
// error shape {"error": {code, message, details}}, a validation error's field list, a body that
// is not JSON (a proxy's HTML page), a network failure, a timeout, a cancelled upload.

export class ApiError extends Error {
  constructor({ status = 0, code = "network_error", message, details = {}, retryAfter = null }) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
    this.retryAfter = retryAfter;
  }
}

const HINTS = {
  unauthorized: "Sign in with a token (mugpos token create).",
  invalid_token: "The token was not accepted: sign in again with a new one.",
  token_expired: "The token has expired: sign in again with a new one.",
  insufficient_scope: "This token may not do that: ask for a token with the scope named below.",
  rate_limited: "Too many requests: wait a moment, then try again.",
  overloaded: "The server is busy: try again in a few seconds.",
  timeout: "The server took too long: try a smaller photo, or again later.",
  payload_too_large: "The file is too large for this server.",
  unsupported_media_type: "The server does not accept this kind of upload.",
  network_error: "The API could not be reached: is the server running?",
};

// A short, readable description of an error: {title, message, lines[], suggestions[]}.
export function describeError(err) {
  if (!(err instanceof ApiError)) {
    return { title: "Something went wrong", message: String(err && err.message ? err.message : err), lines: [], suggestions: [], code: "client_error" };
  }
  const d = err.details || {};
  const lines = [];
  if (Array.isArray(d.errors)) {
    for (const e of d.errors.slice(0, 5)) {
      const where = (e.loc || []).filter((p) => p !== "body").join(".");
      lines.push(where ? where + ": " + e.msg : e.msg);
    }
  }
  if (d.reason && typeof d.reason === "string") lines.push("reason: " + d.reason.replace(/_/g, " "));
  if (d.required) lines.push("needs the scope '" + d.required + "'" + (d.granted ? " (the token has: " + d.granted.join(", ") + ")" : ""));
  if (d.max_bytes) lines.push("limit: " + formatBytes(d.max_bytes) + (d.bytes ? ", sent " + formatBytes(d.bytes) : ""));
  if (d.max_pixels) lines.push("limit: " + Number(d.max_pixels).toLocaleString() + " pixels");
  if (err.retryAfter) lines.push("retry after " + err.retryAfter + " s");
  const hint = HINTS[err.code];
  if (hint) lines.push(hint);
  const title = err.status ? "Error " + err.status + " · " + err.code.replace(/_/g, " ") : "Cannot reach the API";
  return {
    title,
    message: err.message,
    lines,
    suggestions: Array.isArray(d.suggestions) ? d.suggestions.filter((s) => typeof s === "string") : [],
    code: err.code,
  };
}

export function formatBytes(n) {
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + " MiB";
  if (n >= 1 << 10) return (n / (1 << 10)).toFixed(0) + " KiB";
  return n + " bytes";
}

function fromBody(status, text, headers) {
  const retryAfter = headers.get ? headers.get("Retry-After") : headers["retry-after"];
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch (_) {
    body = null;
  }
  if (body && body.error && typeof body.error.message === "string") {
    return new ApiError({ status, code: body.error.code || "http_" + status, message: body.error.message, details: body.error.details, retryAfter });
  }
  if (body && body.detail) {
    return new ApiError({ status, code: "http_" + status, message: typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail), retryAfter });
  }
  const snippet = (text || "").replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 160);
  return new ApiError({ status, code: "http_" + status, message: "the server answered " + status + (snippet ? ": " + snippet : " with no message"), retryAfter });
}

export class Api {
  constructor(getToken) {
    this.getToken = getToken;
  }

  headers(extra = {}) {
    const h = { Accept: "application/json", ...extra };
    const token = this.getToken();
    if (token) h.Authorization = "Bearer " + token;
    return h;
  }

  // fetch → parsed JSON (or a Blob with as="blob"); throws ApiError.
  async call(method, path, { json, form, as = "json", signal } = {}) {
    const init = { method, headers: this.headers(), signal, credentials: "omit" };
    if (json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    } else if (form !== undefined) {
      init.body = form;
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (e) {
      if (e && e.name === "AbortError") throw new ApiError({ code: "cancelled", message: "cancelled" });
      throw new ApiError({ message: "the API at " + location.origin + " did not answer (" + e.message + ")" });
    }
    if (!resp.ok) throw fromBody(resp.status, await resp.text(), resp.headers);
    if (resp.status === 204) return null;
    if (as === "blob") return resp.blob();
    const text = await resp.text();
    try {
      return JSON.parse(text);
    } catch (_) {
      throw new ApiError({ status: resp.status, code: "bad_response", message: "the server's answer is not JSON" });
    }
  }

  get(path, opts) {
    return this.call("GET", path, opts);
  }

  post(path, json) {
    return this.call("POST", path, { json });
  }

  patch(path, json) {
    return this.call("PATCH", path, { json });
  }

  del(path) {
    return this.call("DELETE", path);
  }

  // A multipart upload with progress: onProgress({stage: "upload"|"analyse", fraction}).
  // Returns {promise, abort}.
  upload(path, form, onProgress, { as = "json", timeoutMs = 120000 } = {}) {
    const xhr = new XMLHttpRequest();
    const promise = new Promise((resolve, reject) => {
      xhr.open("POST", path);
      const headers = this.headers();
      for (const k of Object.keys(headers)) xhr.setRequestHeader(k, headers[k]);
      xhr.responseType = as === "blob" ? "blob" : "text";
      xhr.timeout = timeoutMs;
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress({ stage: "upload", fraction: e.loaded / e.total });
      };
      xhr.upload.onload = () => onProgress({ stage: "analyse", fraction: null });
      xhr.onload = async () => {
        const hdrs = { "retry-after": xhr.getResponseHeader("Retry-After") };
        const text = as === "blob" && xhr.status < 400 ? "" : xhr.responseType === "blob" ? await xhr.response.text() : xhr.responseText;
        if (xhr.status >= 400) return reject(fromBody(xhr.status, text, hdrs));
        if (as === "blob") return resolve(xhr.response);
        try {
          resolve(JSON.parse(text));
        } catch (_) {
          reject(new ApiError({ status: xhr.status, code: "bad_response", message: "the server's answer is not JSON" }));
        }
      };
      xhr.onerror = () => reject(new ApiError({ message: "the API at " + location.origin + " did not answer" }));
      xhr.ontimeout = () => reject(new ApiError({ code: "timeout", message: "no answer after " + timeoutMs / 1000 + " s" }));
      xhr.onabort = () => reject(new ApiError({ code: "cancelled", message: "cancelled" }));
      xhr.send(form);
    });
    return { promise, abort: () => xhr.abort() };
  }
}
