/**
 * The optional API key, kept in localStorage. Requests send it as `Authorization: Bearer`,
 * sockets and event streams as `access_token`; with no key nothing is sent.
 */
const STORAGE_KEY = "whisperrr.apiKey";

function stored(): string {
  try {
    return localStorage.getItem(STORAGE_KEY) ?? "";
  } catch {
    return "";
  }
}

class ApiKey {
  value = $state(stored());

  set(key: string): void {
    this.value = key.trim();
    try {
      if (this.value) localStorage.setItem(STORAGE_KEY, this.value);
      else localStorage.removeItem(STORAGE_KEY);
    } catch {
      /* storage disabled: the key lasts for this page only */
    }
  }
}

export const apiKey = new ApiKey();
