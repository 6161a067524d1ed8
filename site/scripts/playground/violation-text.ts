// What the page says of each protocol violation, in French, keyed by the violation's stable id
// (#protocol's ViolationId). The event's own `message` is the server's English technical detail:
// it is never shown. Typed Record<ViolationId, …>, so an id added to the protocol without its text
// here fails `astro check`.
import type { ViolationEvent, ViolationId } from '#protocol';

/**
 * One clause per rule, to follow « violation du protocole (code …) : »: starting with a lower-case
 * letter, ending with a period, with the RFC section (or the protocol) it comes from.
 */
export const VIOLATION_TEXT: Record<ViolationId, string> = {
  WS_ERR_RSV2_RSV3: 'les bits RSV2 ou RSV3 sont à 1 alors qu’aucune extension négociée ne les définit (RFC 6455 §5.2).',
  WS_ERR_UNEXPECTED_RSV1: 'le bit RSV1 est à 1 alors qu’aucune extension (permessage-deflate) n’a été négociée (RFC 6455 §5.2).',
  WS_ERR_RSV1_ON_CONTINUATION:
    'le bit RSV1 est à 1 sur une trame de continuation, alors que seule la première trame d’un message compressé le porte (RFC 7692 §6).',
  WS_ERR_RSV1_ON_CONTROL: 'le bit RSV1 est à 1 sur une trame de contrôle, qui n’est jamais compressée (RFC 7692 §6).',
  WS_ERR_UNEXPECTED_CONTINUATION: 'trame de continuation (opcode 0x0) alors qu’aucun message fragmenté n’est en cours (RFC 6455 §5.4).',
  WS_ERR_EXPECTED_CONTINUATION:
    'nouvelle trame de données (texte ou binaire) alors qu’un message fragmenté attend encore ses trames de continuation (RFC 6455 §5.4).',
  WS_ERR_CONTROL_FRAGMENTED:
    'trame de contrôle fragmentée (FIN = 0), alors qu’une trame de contrôle tient toujours en une seule trame (RFC 6455 §5.5).',
  WS_ERR_CONTROL_TOO_LONG: 'trame de contrôle de plus de 125\u00a0octets de charge utile (RFC 6455 §5.5).',
  WS_ERR_CLOSE_ONE_BYTE:
    'trame de fermeture d’un seul octet de charge utile, alors qu’un code de fermeture en prend deux (RFC 6455 §5.5.1).',
  WS_ERR_RESERVED_OPCODE: 'opcode réservé, qu’aucune extension négociée ne définit (RFC 6455 §5.2).',
  WS_ERR_UNMASKED_CLIENT_FRAME:
    'trame du client non masquée (MASK = 0), alors que le client doit masquer chacune de ses trames (RFC 6455 §5.1).',
  WS_ERR_MASKED_SERVER_FRAME: 'trame du serveur masquée (MASK = 1), alors que le serveur ne masque jamais les siennes (RFC 6455 §5.1).',
  WS_ERR_LENGTH_MSB_SET:
    'longueur sur 64\u00a0bits dont le bit de poids fort est à 1, ce que la RFC interdit (RFC 6455 §5.2)\u202f; ws, le serveur, y répond par 1009.',
  WS_ERR_PAYLOAD_TOO_BIG: 'longueur annoncée au-delà de 2⁵³ − 1\u00a0octets, trop grande pour le serveur (RFC 6455 §7.4.1, code 1009).',
  WS_ERR_INVALID_CLOSE_CODE:
    'code de fermeture invalide, réservé ou hors des plages qu’un client ou un serveur peut envoyer (RFC 6455 §7.4).',
  WS_ERR_INVALID_CLOSE_REASON: 'la raison de la trame de fermeture n’est pas de l’UTF-8 valide (RFC 6455 §5.5.1).',
  WS_ERR_INVALID_UTF8: 'le message texte n’est pas de l’UTF-8 valide (RFC 6455 §8.1).',
  WS_ERR_INCOMPLETE_UTF8: 'le message texte se termine au milieu d’un caractère UTF-8 (RFC 6455 §8.1).',
  WS_ERR_INFLATE: 'données compressées (permessage-deflate) invalides, dont la décompression échoue (RFC 7692 §7.2.2).',
  WS_ERR_INFLATED_INVALID_UTF8: 'une fois décompressé, le message texte n’est pas de l’UTF-8 valide (RFC 6455 §8.1).',
  HANDSHAKE_ERR_EARLY_DATA:
    'le client a envoyé trop de données avant la réponse 101 du serveur, qu’il doit attendre avant d’envoyer des trames (RFC 6455 §4.1).',
  HTTP_ERR_REQUEST_LINE: 'ligne de requête HTTP mal formée, au lieu de «\u00a0GET /chemin HTTP/1.1\u00a0» par exemple (RFC 9112 §3).',
  HTTP_ERR_STATUS_LINE: 'ligne de statut HTTP mal formée, au lieu de «\u00a0HTTP/1.1 200 OK\u00a0» par exemple (RFC 9112 §4).',
  HTTP_ERR_HEADER_LINE:
    'ligne d’en-tête HTTP mal formée, au lieu d’un nom sans espace suivi d’un deux-points puis de la valeur (RFC 9112 §5).',
  HTTP_ERR_HEAD_TOO_LARGE: 'en-tête HTTP trop grand pour être lu (RFC 9110 §5.4).',
  HTTP_ERR_TRAILERS_TOO_LARGE: 'champs de fin (trailers) d’un corps en blocs trop grands pour être lus (RFC 9112 §7.1.2).',
  HTTP_ERR_CONTENT_LENGTH: 'en-tête Content-Length invalide, au lieu d’un seul nombre décimal (RFC 9112 §6.3).',
  HTTP_ERR_TRANSFER_ENCODING:
    'requête dont le Transfer-Encoding ne finit pas par chunked, si bien que la longueur de son corps ne peut pas être connue (RFC 9112 §6.3).',
  HTTP_ERR_CHUNK_SIZE: 'taille de bloc invalide dans un corps en blocs (chunked), au lieu d’un nombre hexadécimal (RFC 9112 §7.1).',
  HTTP_ERR_CHUNK_LINE_TOO_LONG: 'ligne de taille de bloc trop longue dans un corps en blocs, chunked (RFC 9112 §7.1).',
  HTTP_ERR_CHUNK_DATA_END: 'les données d’un bloc (chunked) ne sont pas suivies de CRLF (RFC 9112 §7.1).',
  EIO_ERR_EMPTY_PACKET: 'paquet Engine.IO vide, sans même le chiffre de son type (protocole Engine.IO v4).',
  EIO_ERR_UNKNOWN_PACKET_TYPE:
    'type de paquet Engine.IO inconnu, au lieu d’un chiffre de 0 (open) à 6 (noop) ou de «\u00a0b\u00a0» pour du binaire en base64 (protocole Engine.IO v4).',
  EIO_ERR_INVALID_BASE64:
    'paquet Engine.IO binaire («\u00a0b\u00a0» puis de la base64) dont la base64 est invalide (protocole Engine.IO v4).',
  EIO_ERR_OPEN_NOT_JSON: 'les données du paquet Engine.IO «\u00a0open\u00a0» ne sont pas du JSON (protocole Engine.IO v4).',
  SIO_ERR_UNKNOWN_PACKET_TYPE:
    'type de paquet Socket.IO inconnu, au lieu d’un chiffre de 0 à 6, de CONNECT à BINARY_ACK (protocole Socket.IO v5).',
  SIO_ERR_ATTACHMENT_COUNT: 'paquet Socket.IO binaire sans nombre valide de pièces jointes avant son tiret (protocole Socket.IO v5).',
  SIO_ERR_TOO_MANY_ATTACHMENTS: 'paquet Socket.IO qui annonce plus de 10\u00a0pièces jointes, le maximum de socket.io-parser.',
  SIO_ERR_INVALID_JSON: 'les données du paquet Socket.IO ne sont pas du JSON valide (protocole Socket.IO v5).',
  SIO_ERR_INVALID_PAYLOAD:
    'données du paquet Socket.IO qui ne conviennent pas à son type, par exemple un EVENT sans tableau ou au nom réservé comme «\u00a0connect\u00a0» (protocole Socket.IO v5).',
  SIO_ERR_UNEXPECTED_ATTACHMENT: 'paquet binaire alors qu’aucun paquet Socket.IO n’attend de pièce jointe (protocole Socket.IO v5).',
  SIO_ERR_MISSING_ATTACHMENTS: 'paquet texte alors que des pièces jointes binaires étaient encore attendues (protocole Socket.IO v5).',
  SANDBOX_ERR_DECODER:
    'erreur interne du décodeur du bac à sable, qui ne décode plus la suite de cette connexion (le trafic lui-même n’est pas touché).',
};

/**
 * The French text of a violation event. An id this page does not know (a newer server, an event
 * recorded before ids existed) gets a generic text rather than the English detail.
 */
export function violationText(e: Pick<ViolationEvent, 'id' | 'code'>): string {
  return Object.hasOwn(VIOLATION_TEXT, e.id) ? VIOLATION_TEXT[e.id] : `règle non détaillée par cette page (code ${e.code}).`;
}
