"""Word lists the line classifier reads: page-interface words and function words, by language.

Interface words are what menus, share bars, prompts and footers are made of; function words
are what sentences are made of. Both are features, never rules on their own: a story line
may say "share" and a menu may say "the". The languages covered are English, French,
German, Spanish, Italian, Portuguese, Dutch, Turkish and Russian; the unseen-kind benchmark
injects lines in other languages on purpose.
"""

from __future__ import annotations

# ruff: noqa: RUF001 (the lists hold Turkish dotless i and Cyrillic on purpose)

INTERFACE_WORDS = frozenset(
    # English
    "home menu search login log sign subscribe subscription subscribers newsletter newsletters "
    "share shares shared tweet email print comment comments reply replies follow followers "
    "facebook twitter instagram youtube linkedin whatsapp reddit pinterest telegram tiktok rss "
    "advertisement advertising sponsored ad ads cookie cookies privacy terms policy "
    "contact about careers jobs archive archives sitemap accessibility help faq "
    "read watch listen video videos photo photos gallery image images caption credit "
    "more next previous prev back top skip close open view show hide load loading "
    "related recommended popular trending latest most must miss "
    "updated published posted min mins ago copyright reserved rights click tap download app "
    "edition account register premium offer free trial unlock continue reading "
    "tags topics section sections category categories notifications alerts podcast podcasts "
    # French
    "accueil rechercher connexion abonner abonnez abonnement partager partagez commentaires "
    "commentaire publicité lire aussi suivez suivre voir plus articles vidéo vidéos "
    "mentions légales confidentialité inscrivez actualités rubriques fermer "
    # German
    "startseite suche anmelden abonnieren teilen kommentare kommentar anzeige werbung "
    "weiterlesen mehr zum thema folgen impressum datenschutz nachrichten schließen "
    # Spanish
    "inicio buscar suscríbete suscribirse compartir comentarios publicidad leer más "
    "síguenos noticias relacionadas cerrar aviso legal privacidad "
    # Italian
    "cerca accedi iscriviti condividi commenti pubblicità leggi anche seguici notizie "
    "chiudi correlati "
    # Portuguese
    "início pesquisar assine entrar compartilhe compartilhar comentários publicidade "
    "leia também siga notícias fechar relacionadas "
    # Dutch
    "zoeken inloggen abonneren delen reacties advertentie lees meer volg nieuws sluiten "
    # Turkish
    "anasayfa ara giriş abone paylaş paylaşın yorum yorumlar reklam yükleniyor devamı "
    "haberler haber ilgili takip gündem son dakika kapat "
    # Russian
    "главная поиск войти подписаться поделиться комментарии реклама читать также "
    "новости подробнее закрыть".split()
)

FUNCTION_WORDS = frozenset(
    # English
    "the a an of to in and or but is are was were be been has have had that this these "
    "those it its he she they we you his her their our with for on at by from as not "
    "which who would will said after before than into over about also there".split()
    # French
    + "le la les un une des du de et ou est sont était qui que dans pour sur par avec "
    "pas ne il elle ils nous vous au aux ce cette ses son sa leur a été".split()
    # German
    + "der die das ein eine und oder ist sind war waren nicht mit für auf von zu im in "
    "den dem des er sie es wir auch dass sich bei nach wurde werden hat haben".split()
    # Spanish
    + "el la los las un una y o es son fue que en por para con no se su sus del al "
    "lo como pero más ha han".split()
    # Italian
    + "il lo gli le una e è sono che di da per con non si suo sua della del nel alla ha".split()
    # Portuguese
    + "o os as um uma e é são que em por para com não se seu sua do da dos das no na".split()
    # Dutch
    + "de het een en of is zijn was niet met voor op van te dat die er hij zij ook".split()
    # Turkish
    + "ve bir bu da de ile için olarak olan gibi ama daha çok en ki ise".split()
    # Russian
    + "и в не на что с по как это он она они мы из за от для был была".split()
)

MONTHS = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec "
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre "
    "januar februar märz juni juli oktober dezember "
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre "
    "ocak şubat mart nisan mayıs haziran temmuz ağustos eylül ekim kasım aralık".split()
)
