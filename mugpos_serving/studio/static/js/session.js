// The sign-in token, kept in session storage (gone when the tab closes; never in a cookie,
// so no other site can make the browser send it).

const KEY = "mugpos.token";

export function loadToken() {
  try {
    return sessionStorage.getItem(KEY) || "";
  } catch (_) {
    return "";
  }
}

export function saveToken(token) {
  sessionStorage.setItem(KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(KEY);
}

// What the token says about itself (subject, scopes, expiry), for display only: the server is
// the one that checks it. Null when it is not a readable JWT.
export function tokenClaims(token) {
  const parts = (token || "").split(".");
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = atob(b64 + "===".slice((b64.length + 3) % 4));
    const claims = JSON.parse(json);
    return {
      subject: String(claims.sub || "?"),
      scopes: String(claims.scope || "").split(" ").filter(Boolean),
      expires: claims.exp ? new Date(claims.exp * 1000) : null,
    };
  } catch (_) {
    return null;
  }
}

export function describeExpiry(date) {
  if (!date) return "";
  const s = (date.getTime() - Date.now()) / 1000;
  if (s <= 0) return "expired";
  if (s < 3600) return "expires in " + Math.round(s / 60) + " min";
  if (s < 86400 * 2) return "expires in " + Math.round(s / 3600) + " h";
  return "expires in " + Math.round(s / 86400) + " days";
}
