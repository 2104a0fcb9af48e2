/**
 * The unix-socket edge: the reply server's app for the outtake paths, and
 * the socket file's life (a stale file, its mode and group, a file removed
 * under urocket, its removal).
 *
 * @module
 */

export {
  COLLECT_BELOW,
  createReplyApp,
  createReplyFetch,
  type ReplyDeps,
  type ReplyFetchDeps,
} from "./reply_app.ts";
export {
  applySocketAccess,
  inspectSocketPath,
  type SocketAccess,
  socketAccessChain,
  socketAccessOf,
  socketAccessProblem,
  SocketError,
} from "./socket.ts";
export { ReplySocket, type ReplySocketOptions, SOCKET_CHECK_MS } from "./socket_keeper.ts";
