// A client-only app: the server serves the shell and the page talks to the API from the browser.
export const ssr = false;
export const prerender = false;
