// The parts of the course, in order. A part is a folder of lessons/; its lessons are
// ordered by their `sidebar.order` frontmatter field.
export interface CoursePart {
  /** Folder under lessons/. */
  dir: string;
  /** French label shown in the sidebar and on the home page. */
  label: string;
  /** One sentence for the home page. */
  summary: string;
}

export const parts: CoursePart[] = [
  {
    dir: 'fondations',
    label: 'Les fondations',
    summary: 'Pourquoi le temps réel, la poignée de main HTTP et l’API WebSocket du navigateur.',
  },
  {
    dir: 'protocole',
    label: 'Le protocole à la loupe',
    summary: 'Trames, masquage, fragmentation et trames de contrôle, octet par octet.',
  },
  {
    dir: 'production',
    label: 'En production',
    summary: 'Sécurité, authentification, limites, proxys et HTTP/2 ou HTTP/3.',
  },
  {
    dir: 'socket-io',
    label: 'Socket.IO',
    summary: 'Engine.IO, accusés de réception, espaces de noms, rooms et passage à l’échelle.',
  },
  {
    dir: 'serveurs',
    label: 'Construire ses serveurs',
    summary: 'Écrire un serveur ws, authentifier, résister aux coupures et respecter la contre-pression, avec de vraies conditions réseau.',
  },
];
