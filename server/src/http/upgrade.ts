import type { HttpRequest, HttpResponse, us_socket_context_t } from "uWebSockets.js";

/** A uWS `upgrade` handler that accepts the socket with fresh per-connection state from `initial`. */
export function upgradeWith<T>(initial: () => T) {
  return (res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void => {
    res.upgrade<T>(
      initial(),
      req.getHeader("sec-websocket-key"),
      req.getHeader("sec-websocket-protocol"),
      req.getHeader("sec-websocket-extensions"),
      context,
    );
  };
}
