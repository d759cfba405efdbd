<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>tp::ui::GalleryModel</name>
    <message>
        <source>This file could not be read as an image.</source>
        <translation>Diese Datei ließ sich nicht als Bild lesen.</translation>
    </message>
    <message>
        <source>No generation parameters recorded.</source>
        <translation>Keine Erzeugungsparameter gespeichert.</translation>
    </message>
    <message>
        <source>%1 × %2 · %3 · %4 steps · seed %5</source>
        <translation>%1 × %2 · %3 · %4 Schritte · Seed %5</translation>
    </message>
    <message>
        <source>Model: %1</source>
        <translation>Modell: %1</translation>
    </message>
</context>
<context>
    <name>tp::ui::GalleryView</name>
    <message>
        <source>&amp;Use these settings</source>
        <translation>Diese Einstellungen ü&amp;bernehmen</translation>
    </message>
    <message>
        <source>Put this image&apos;s prompt, seed and settings into the generation form</source>
        <translation>Prompt, Seed und Einstellungen dieses Bildes in das Formular übernehmen</translation>
    </message>
    <message>
        <source>&amp;Copy parameters</source>
        <translation>Parameter &amp;kopieren</translation>
    </message>
    <message>
        <source>&amp;Open folder</source>
        <translation>&amp;Ordner öffnen</translation>
    </message>
    <message>
        <source>Open the output folder in the file manager</source>
        <translation>Den Ausgabeordner im Dateimanager öffnen</translation>
    </message>
    <message>
        <source>Generated images</source>
        <translation>Erzeugte Bilder</translation>
    </message>
    <message>
        <source>No output folder is set.</source>
        <translation>Es ist kein Ausgabeordner eingestellt.</translation>
    </message>
    <message>
        <source>No images in %1 yet. Generated images appear here.</source>
        <translation>In %1 sind noch keine Bilder. Erzeugte Bilder erscheinen hier.</translation>
    </message>
    <message>
        <source>Select an image to see how it was made.</source>
        <translation>Wählen Sie ein Bild, um zu sehen, wie es entstand.</translation>
    </message>
    <message>
        <source>No generation parameters recorded in this image.</source>
        <translation>In diesem Bild sind keine Erzeugungsparameter gespeichert.</translation>
    </message>
</context>
<context>
    <name>tp::ui::GenerationForm</name>
    <message>
        <source>The Ollama model TwistedPair distorts with (empty: TwistedPair's default)</source>
        <translation>Das Ollama-Modell, mit dem TwistedPair verzerrt (leer: die Vorgabe von TwistedPair)</translation>
    </message>
    <message>
        <source>Distortion model</source>
        <translation>Verzerrungsmodell</translation>
    </message>
    <message>
        <source>Re&amp;fine to visual keywords</source>
        <translation>Zu visuellen Stichwörtern ver&amp;kürzen</translation>
    </message>
    <message>
        <source>Ollama boils the distorted text down to visual keywords (the refiner model and template are in the settings). If it fails, the distorted text is used.</source>
        <translation>Ollama verdichtet den verzerrten Text zu visuellen Stichwörtern (Modell und Vorlage stehen in den Einstellungen). Schlägt das fehl, wird der verzerrte Text verwendet.</translation>
    </message>
    <message>
        <source>&amp;Distort the prompt through TwistedPair first</source>
        <translation>Prompt zuerst durch TwistedPair &amp;verzerren</translation>
    </message>
    <message>
        <source>TwistedPair rewrites the prompt (mode, tone, gain); Ollama then refines it into visual keywords. You see every stage and can edit the final prompt.</source>
        <translation>TwistedPair schreibt den Prompt um (Modus, Ton, Stärke); Ollama macht daraus dann visuelle Stichwörter. Sie sehen jede Stufe und können den endgültigen Prompt bearbeiten.</translation>
    </message>
    <message>
        <source>Distortion mode</source>
        <translation>Verzerrungsmodus</translation>
    </message>
    <message>
        <source>Distortion tone</source>
        <translation>Verzerrungston</translation>
    </message>
    <message>
        <source>Distortion gain</source>
        <translation>Verzerrungsstärke</translation>
    </message>
    <message>
        <source>gain </source>
        <translation>Stärke </translation>
    </message>
    <message>
        <source>Open model folder…</source>
        <translation>Modellordner öffnen…</translation>
    </message>
    <message>
        <source>%1 is not a diffusers model folder.</source>
        <translation>%1 ist kein diffusers-Modellordner.</translation>
    </message>
    <message>
        <source>&amp;Prompt</source>
        <translation>&amp;Prompt</translation>
    </message>
    <message>
        <source>Describe the picture, e.g. &quot;a lighthouse at dusk, oil painting&quot;</source>
        <translation>Beschreiben Sie das Bild, z. B. „a lighthouse at dusk, oil painting“</translation>
    </message>
    <message>
        <source>Prompt</source>
        <translation>Prompt</translation>
    </message>
    <message>
        <source>&amp;Negative prompt</source>
        <translation>&amp;Negativer Prompt</translation>
    </message>
    <message>
        <source>What the picture should not show</source>
        <translation>Was das Bild nicht zeigen soll</translation>
    </message>
    <message>
        <source>Negative prompt</source>
        <translation>Negativer Prompt</translation>
    </message>
    <message>
        <source>&amp;Model:</source>
        <translation>&amp;Modell:</translation>
    </message>
    <message>
        <source>S&amp;ampler:</source>
        <translation>S&amp;ampler:</translation>
    </message>
    <message>
        <source>&amp;Steps:</source>
        <translation>&amp;Schritte:</translation>
    </message>
    <message>
        <source>G&amp;uidance:</source>
        <translation>G&amp;uidance:</translation>
    </message>
    <message>
        <source>How closely the image follows the prompt (classifier-free guidance scale)</source>
        <translation>Wie genau das Bild dem Prompt folgt (Classifier-free Guidance Scale)</translation>
    </message>
    <message>
        <source>Si&amp;ze:</source>
        <translation>&amp;Größe:</translation>
    </message>
    <message>
        <source> px</source>
        <translation> px</translation>
    </message>
    <message>
        <source>Width</source>
        <translation>Breite</translation>
    </message>
    <message>
        <source>Height</source>
        <translation>Höhe</translation>
    </message>
    <message>
        <source>S&amp;eed:</source>
        <translation>See&amp;d:</translation>
    </message>
    <message>
        <source>Random</source>
        <translation>Zufällig</translation>
    </message>
    <message>
        <source>Fixed</source>
        <translation>Fest</translation>
    </message>
    <message>
        <source>random</source>
        <translation>zufällig</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>Seed</translation>
    </message>
    <message>
        <source>Reuse the last image&apos;s seed</source>
        <translation>Den Seed des letzten Bildes wiederverwenden</translation>
    </message>
    <message>
        <source>Reuse last seed</source>
        <translation>Letzten Seed wiederverwenden</translation>
    </message>
    <message>
        <source>Pick a new random seed and keep it</source>
        <translation>Einen neuen zufälligen Seed wählen und beibehalten</translation>
    </message>
    <message>
        <source>New random seed</source>
        <translation>Neuer zufälliger Seed</translation>
    </message>
    <message>
        <source>&amp;Images:</source>
        <translation>&amp;Bilder:</translation>
    </message>
    <message>
        <source>&amp;Generate</source>
        <translation>&amp;Erzeugen</translation>
    </message>
    <message>
        <source>Generate (Ctrl+Enter)</source>
        <translation>Erzeugen (Strg+Eingabe)</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Stop after the current step (Esc)</source>
        <translation>Nach dem laufenden Schritt anhalten (Esc)</translation>
    </message>
    <message>
        <source>Ctrl+Enter generates · Esc cancels</source>
        <translation>Strg+Eingabe erzeugt · Esc bricht ab</translation>
    </message>
    <message>
        <source>%1 × %2</source>
        <translation>%1 × %2</translation>
    </message>
    <message>
        <source>Custom</source>
        <translation>Eigene Größe</translation>
    </message>
    <message>
        <source>The sampler &quot;%1&quot; is not available here; keeping %2.</source>
        <translation>Der Sampler „%1“ ist hier nicht verfügbar; %2 bleibt eingestellt.</translation>
    </message>
    <message>
        <source>The model &quot;%1&quot; is not installed; keeping %2.</source>
        <translation>Das Modell „%1“ ist nicht installiert; %2 bleibt eingestellt.</translation>
    </message>
    <message>
        <source>Reuse the last image&apos;s seed (%1)</source>
        <translation>Den Seed des letzten Bildes wiederverwenden (%1)</translation>
    </message>
    <message>
        <source>Without &amp;T5</source>
        <translation>Ohne &amp;T5</translation>
    </message>
    <message>
        <source>Run without the T5 text encoder: zeros stand in for its tokens, as diffusers allows. It is not loaded (or is released from the GPU), saving its memory; the picture follows the prompt a little less closely, long prompts more so.</source>
        <translation>Ohne den T5-Textencoder erzeugen: Nullen treten an die Stelle seiner Tokens, wie diffusers es erlaubt. Er wird nicht geladen (oder von der GPU genommen) und spart so seinen Speicher; das Bild folgt dem Prompt etwas weniger genau, bei langen Prompts mehr.</translation>
    </message>
    <message>
        <source>T5 needs ~%1</source>
        <translation>T5 braucht ~%1</translation>
    </message>
    <message>
        <source>T5 needs ~%1; %2 free: running without it may fit</source>
        <translation>T5 braucht ~%1; %2 frei: ohne T5 könnte es passen</translation>
    </message>
    <message>
        <source>T5 needs ~%1; %2 free</source>
        <translation>T5 braucht ~%1; %2 frei</translation>
    </message>
    <message>
        <source>The image was made without T5, which %1 cannot do.</source>
        <translation>Das Bild wurde ohne T5 erzeugt, was %1 nicht kann.</translation>
    </message>
    <message>
        <source>%1 does not use a negative prompt.</source>
        <translation>%1 verwendet keinen negativen Prompt.</translation>
    </message>
</context>
<context>
    <name>tp::ui::ImageViewer</name>
    <message>
        <source>&amp;Fit to window</source>
        <translation>An Fenster an&amp;passen</translation>
    </message>
    <message>
        <source>&amp;Actual size</source>
        <translation>O&amp;riginalgröße</translation>
    </message>
    <message>
        <source>Zoom &amp;in</source>
        <translation>Ver&amp;größern</translation>
    </message>
    <message>
        <source>Zoom &amp;out</source>
        <translation>Verk&amp;leinern</translation>
    </message>
    <message>
        <source>&amp;Copy image</source>
        <translation>Bild &amp;kopieren</translation>
    </message>
    <message>
        <source>&amp;Save image as…</source>
        <translation>Bild &amp;speichern unter …</translation>
    </message>
    <message>
        <source>&amp;Previous image</source>
        <translation>&amp;Vorheriges Bild</translation>
    </message>
    <message>
        <source>&amp;Next image</source>
        <translation>&amp;Nächstes Bild</translation>
    </message>
    <message>
        <source>Your images appear here.
Write a prompt and press Generate (Ctrl+Enter).</source>
        <translation>Hier erscheinen Ihre Bilder.
Schreiben Sie einen Prompt und klicken Sie auf Erzeugen (Strg+Eingabe).</translation>
    </message>
    <message>
        <source>Image</source>
        <translation>Bild</translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation>%1 von %2</translation>
    </message>
    <message>
        <source>Save image as</source>
        <translation>Bild speichern unter</translation>
    </message>
    <message>
        <source>PNG image (*.png);;JPEG image (*.jpg *.jpeg);;WebP image (*.webp)</source>
        <translation>PNG-Bild (*.png);;JPEG-Bild (*.jpg *.jpeg);;WebP-Bild (*.webp)</translation>
    </message>
    <message>
        <source>Could not save the image as %1.</source>
        <translation>Das Bild konnte nicht als %1 gespeichert werden.</translation>
    </message>
    <message>
        <source>Open the image&apos;s fol&amp;der</source>
        <translation>&amp;Ordner des Bildes öffnen</translation>
    </message>
</context>
<context>
    <name>tp::ui::LogView</name>
    <message>
        <source>Log</source>
        <translation>Protokoll</translation>
    </message>
    <message>
        <source>Everything (debug)</source>
        <translation>Alles (Debug)</translation>
    </message>
    <message>
        <source>Information</source>
        <translation>Informationen</translation>
    </message>
    <message>
        <source>Warnings and errors</source>
        <translation>Warnungen und Fehler</translation>
    </message>
    <message>
        <source>Errors only</source>
        <translation>Nur Fehler</translation>
    </message>
    <message>
        <source>Least important level shown</source>
        <translation>Unwichtigste angezeigte Stufe</translation>
    </message>
    <message>
        <source>Log level</source>
        <translation>Protokollstufe</translation>
    </message>
    <message>
        <source>Search the log</source>
        <translation>Protokoll durchsuchen</translation>
    </message>
    <message>
        <source>F&amp;ollow</source>
        <translation>&amp;Mitlaufen</translation>
    </message>
    <message>
        <source>Scroll to each new line</source>
        <translation>Zu jeder neuen Zeile scrollen</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>Kopieren</translation>
    </message>
    <message>
        <source>Copy the selected lines, or all shown lines when none is selected</source>
        <translation>Die ausgewählten Zeilen kopieren, ohne Auswahl alle angezeigten</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>Leeren</translation>
    </message>
    <message>
        <source>Empty this view (the log file keeps everything)</source>
        <translation>Diese Ansicht leeren (die Protokolldatei behält alles)</translation>
    </message>
</context>
<context>
    <name>tp::ui::MainWindow</name>
    <message>
        <source>&amp;New image</source>
        <translation>&amp;Neues Bild</translation>
    </message>
    <message>
        <source>Ready for a new image: type a prompt.</source>
        <translation>Bereit für ein neues Bild: Prompt eingeben.</translation>
    </message>
    <message>
        <source>The prompt is empty: describe what to draw, then generate.</source>
        <translation>Der Prompt ist leer: Beschreibe, was gezeichnet werden soll, und erzeuge dann.</translation>
    </message>
    <message>
        <source>&amp;Welcome assistant…</source>
        <translation>&amp;Willkommensassistent…</translation>
    </message>
    <message>
        <source>&amp;User guide</source>
        <translation>Benutzer&amp;handbuch</translation>
    </message>
    <message>
        <source>GPU memory &amp;troubleshooting</source>
        <translation>&amp;Fehlersuche beim GPU-Speicher</translation>
    </message>
    <message>
        <source>The document %1 is not installed.</source>
        <translation>Das Dokument %1 ist nicht installiert.</translation>
    </message>
    <message>
        <source>%1 The image is shown here: use Save As to keep it.</source>
        <translation>%1 Das Bild wird hier angezeigt: Mit „Speichern unter“ können Sie es behalten.</translation>
    </message>
    <message>
        <source>Services</source>
        <translation>Dienste</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>%1 gespeichert</translation>
    </message>
    <message>
        <source>About TwistedPic</source>
        <translation>Über TwistedPic</translation>
    </message>
    <message>
        <source>&lt;h3&gt;TwistedPic %1&lt;/h3&gt;&lt;p&gt;Stable Diffusion image generation on your own GPU, sharing it politely with Ollama.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;TwistedPic %1&lt;/h3&gt;&lt;p&gt;Bilderzeugung mit Stable Diffusion auf Ihrer eigenen GPU – rücksichtsvoll geteilt mit Ollama.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>TwistedPic</source>
        <translation>TwistedPic</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Datei</translation>
    </message>
    <message>
        <source>&amp;Image</source>
        <translation>&amp;Bild</translation>
    </message>
    <message>
        <source>G&amp;PU</source>
        <translation>G&amp;PU</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Ansicht</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <source>&amp;Generate</source>
        <translation>&amp;Erzeugen</translation>
    </message>
    <message>
        <source>&amp;Cancel generation</source>
        <translation>Erzeugung &amp;abbrechen</translation>
    </message>
    <message>
        <source>&amp;Open output folder</source>
        <translation>Ausgabeordner ö&amp;ffnen</translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation>Ein&amp;stellungen …</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <source>&amp;Free GPU memory now</source>
        <translation>GPU-Speicher jetzt &amp;freigeben</translation>
    </message>
    <message>
        <source>&amp;Unload model now</source>
        <translation>Modell jetzt &amp;entladen</translation>
    </message>
    <message>
        <source>&amp;About TwistedPic</source>
        <translation>Ü&amp;ber TwistedPic</translation>
    </message>
    <message>
        <source>Gallery</source>
        <translation>Galerie</translation>
    </message>
    <message>
        <source>GPU memory</source>
        <translation>GPU-Speicher</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <source>Dismiss the error</source>
        <translation>Fehlermeldung schließen</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>Fortschritt</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>Bereit</translation>
    </message>
    <message>
        <source>Idle</source>
        <translation>Bereit</translation>
    </message>
    <message>
        <source>Loading the model</source>
        <translation>Modell wird geladen</translation>
    </message>
    <message>
        <source>Generating</source>
        <translation>Erzeugung läuft</translation>
    </message>
    <message>
        <source>Freeing GPU memory</source>
        <translation>GPU-Speicher wird freigegeben</translation>
    </message>
    <message>
        <source>Unloading the model</source>
        <translation>Modell wird entladen</translation>
    </message>
    <message>
        <source>Reloading the model</source>
        <translation>Modell wird neu geladen</translation>
    </message>
    <message>
        <source>%1 · %2</source>
        <translation>%1 · %2</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>Wird gestartet …</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>Wird abgebrochen …</translation>
    </message>
    <message>
        <source>Step %1 of %2</source>
        <translation>Schritt %1 von %2</translation>
    </message>
    <message>
        <source> · %1 it/s</source>
        <translation> · %1 it/s</translation>
    </message>
    <message>
        <source> · %1 left</source>
        <translation> · noch %1</translation>
    </message>
    <message>
        <source>Preview · step %1 of %2</source>
        <translation>Vorschau · Schritt %1 von %2</translation>
    </message>
    <message>
        <source>Done in %1 · %2 it/s</source>
        <translation>Fertig in %1 · %2 it/s</translation>
    </message>
    <message>
        <source>Done in %1</source>
        <translation>Fertig in %1</translation>
    </message>
    <message>
        <source>Stopped</source>
        <translation>Angehalten</translation>
    </message>
    <message>
        <source>Loading the model…</source>
        <translation>Modell wird geladen …</translation>
    </message>
    <message>
        <source>Reloading the model…</source>
        <translation>Modell wird neu geladen …</translation>
    </message>
    <message>
        <source>Settings of the selected image are in the form.</source>
        <translation>Die Einstellungen des gewählten Bildes stehen im Formular.</translation>
    </message>
    <message>
        <source>Image made with seed %1 on %2.</source>
        <translation>Bild mit Seed %1 auf %2 erzeugt.</translation>
    </message>
    <message>
        <source>%1 images made with seeds from %2 on %3.</source>
        <translation>%1 Bilder mit Seeds ab %2 auf %3 erzeugt.</translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation>Abgebrochen</translation>
    </message>
    <message>
        <source>Generation cancelled.</source>
        <translation>Erzeugung abgebrochen.</translation>
    </message>
</context>
<context>
    <name>tp::ui::SettingsDialog</name>
    <message>
        <source>Refiner &amp;model (Ollama):</source>
        <translation>Refiner-&amp;Modell (Ollama):</translation>
    </message>
    <message>
        <source>&amp;Keywords to ask for:</source>
        <translation>&amp;Anzahl Stichwörter:</translation>
    </message>
    <message>
        <source>&amp;Refiner template:</source>
        <translation>Refiner-&amp;Vorlage:</translation>
    </message>
    <message>
        <source>What Ollama is asked to boil the distorted text down to visual keywords. {text} is the distorted text, {count} the number of keywords.</source>
        <translation>Womit Ollama gebeten wird, den verzerrten Text auf visuelle Stichwörter zu verdichten. {text} ist der verzerrte Text, {count} die Zahl der Stichwörter.</translation>
    </message>
    <message>
        <source>&amp;Wrapper template:</source>
        <translation>&amp;Hüllvorlage:</translation>
    </message>
    <message>
        <source>The final prompt around the refined text: {distorted} is the refined (or distorted) text, {prompt} the prompt as typed.</source>
        <translation>Der endgültige Prompt um den verdichteten Text: {distorted} ist der verdichtete (oder verzerrte) Text, {prompt} der eingegebene Prompt.</translation>
    </message>
    <message>
        <source>Import from the &amp;original…</source>
        <translation>Aus dem &amp;Original importieren…</translation>
    </message>
    <message>
        <source>Read the Python original&apos;s config.py (never run) and take over what it set</source>
        <translation>Liest die config.py des Python-Originals (ohne sie auszuführen) und übernimmt ihre Einstellungen</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is not a size like 768x512 (multiples of 8, 64 to 4096).</source>
        <translation>„%1“ ist keine Größe wie 768x512 (Vielfache von 8, 64 bis 4096).</translation>
    </message>
    <message>
        <source>Add a model folder</source>
        <translation>Modellordner hinzufügen</translation>
    </message>
    <message>
        <source>Choose a folder for the generated images.</source>
        <translation>Wählen Sie einen Ordner für die erzeugten Bilder.</translation>
    </message>
    <message>
        <source>Output folder</source>
        <translation>Ausgabeordner</translation>
    </message>
    <message>
        <source>Automatic (NVIDIA GPU when present, else CPU)</source>
        <translation>Automatisch (NVIDIA-GPU, falls vorhanden, sonst CPU)</translation>
    </message>
    <message>
        <source>NVIDIA GPU (the first one)</source>
        <translation>NVIDIA-GPU (die erste)</translation>
    </message>
    <message>
        <source>NVIDIA GPU 0</source>
        <translation>NVIDIA-GPU 0</translation>
    </message>
    <message>
        <source>NVIDIA GPU 1</source>
        <translation>NVIDIA-GPU 1</translation>
    </message>
    <message>
        <source>CPU (slow, uses no GPU memory)</source>
        <translation>CPU (langsam, belegt keinen GPU-Speicher)</translation>
    </message>
    <message>
        <source>Automatic (fp16 on the GPU, fp32 on the CPU)</source>
        <translation>Automatisch (fp16 auf der GPU, fp32 auf der CPU)</translation>
    </message>
    <message>
        <source>fp16 — half precision</source>
        <translation>fp16 – halbe Genauigkeit</translation>
    </message>
    <message>
        <source>bf16 — bfloat16</source>
        <translation>bf16 – bfloat16</translation>
    </message>
    <message>
        <source>fp32 — full precision</source>
        <translation>fp32 – volle Genauigkeit</translation>
    </message>
    <message>
        <source>Random for every generation</source>
        <translation>Bei jeder Erzeugung zufällig</translation>
    </message>
    <message>
        <source>Fixed (the seed below)</source>
        <translation>Fest (der Seed unten)</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <source>GPU memory</source>
        <translation>GPU-Speicher</translation>
    </message>
    <message>
        <source>Generation</source>
        <translation>Erzeugung</translation>
    </message>
    <message>
        <source>Models and output</source>
        <translation>Modelle und Ausgabe</translation>
    </message>
    <message>
        <source>Services</source>
        <translation>Dienste</translation>
    </message>
    <message>
        <source>Interface</source>
        <translation>Oberfläche</translation>
    </message>
    <message>
        <source>TwistedPic shares the GPU with Ollama and other programs. These settings decide how much memory it keeps between images.</source>
        <translation>TwistedPic teilt sich die GPU mit Ollama und anderen Programmen. Diese Einstellungen bestimmen, wie viel Speicher es zwischen den Bildern behält.</translation>
    </message>
    <message>
        <source>&amp;Free cached GPU memory after each image</source>
        <translation>Zwischengespeicherten GPU-Speicher nach jedem Bild &amp;freigeben</translation>
    </message>
    <message>
        <source>Returns the memory allocator&apos;s cache to the GPU after each image, so that Ollama and other programs can use it. Costs a few milliseconds; the next image allocates again. Turn it off only if nothing else uses this GPU.</source>
        <translation>Gibt den Cache der Speicherverwaltung nach jedem Bild an die GPU zurück, damit Ollama und andere Programme ihn nutzen können. Kostet ein paar Millisekunden; das nächste Bild belegt den Speicher neu. Schalten Sie es nur aus, wenn sonst nichts diese GPU nutzt.</translation>
    </message>
    <message>
        <source>&amp;Unload the model to RAM after each image</source>
        <translation>Modell nach jedem Bild in den RAM &amp;auslagern</translation>
    </message>
    <message>
        <source>Moves the model&apos;s weights to (pinned) RAM after each image, so that the GPU holds only the CUDA context, about half a gigabyte. Reloading takes a fraction of a second for SD 1.5-sized models. Use it when a language model needs the whole card.</source>
        <translation>Verschiebt die Gewichte des Modells nach jedem Bild in den (gepinnten) RAM, sodass auf der GPU nur der CUDA-Kontext bleibt, etwa ein halbes Gigabyte. Das Zurückladen dauert bei Modellen in der Größe von SD 1.5 nur Sekundenbruchteile. Nutzen Sie es, wenn ein Sprachmodell die ganze Karte braucht.</translation>
    </message>
    <message>
        <source>Ask Ollama to make &amp;room before generating</source>
        <translation>Ollama vor dem Erzeugen um &amp;Platz bitten</translation>
    </message>
    <message>
        <source>When free GPU memory is short, ask Ollama to unload the models it is not using, so that neither program falls back to the much slower CPU.</source>
        <translation>Wenn der freie GPU-Speicher knapp ist, Ollama bitten, nicht benutzte Modelle zu entladen, damit keines der Programme auf die viel langsamere CPU ausweichen muss.</translation>
    </message>
    <message>
        <source>Unload when &amp;idle for:</source>
        <translation>Entladen nach &amp;Leerlauf von:</translation>
    </message>
    <message>
        <source> min</source>
        <translation> min</translation>
    </message>
    <message>
        <source>Never</source>
        <translation>Nie</translation>
    </message>
    <message>
        <source>Like Ollama&apos;s keep_alive: after this many minutes without a request the model moves to RAM.</source>
        <translation>Wie keep_alive bei Ollama: Nach so vielen Minuten ohne Anfrage wandert das Modell in den RAM.</translation>
    </message>
    <message>
        <source>&amp;Device:</source>
        <translation>&amp;Gerät:</translation>
    </message>
    <message>
        <source>Where images are computed. A change takes effect with the next image.</source>
        <translation>Wo die Bilder berechnet werden. Eine Änderung gilt ab dem nächsten Bild.</translation>
    </message>
    <message>
        <source>&amp;Precision:</source>
        <translation>&amp;Genauigkeit:</translation>
    </message>
    <message>
        <source>Half precision needs half the memory and is fastest on NVIDIA GPUs.</source>
        <translation>Halbe Genauigkeit braucht halb so viel Speicher und ist auf NVIDIA-GPUs am schnellsten.</translation>
    </message>
    <message>
        <source>&amp;Speed up denoising with CUDA graphs</source>
        <translation>Entrauschen mit CUDA-Graphen &amp;beschleunigen</translation>
    </message>
    <message>
        <source>Records one denoising step on the GPU and replays it for every step.</source>
        <translation>Zeichnet einen Entrauschungsschritt auf der GPU auf und spielt ihn für jeden Schritt erneut ab.</translation>
    </message>
    <message>
        <source>The GPU replays a recorded step instead of waiting for hundreds of launches from the CPU: faster, the same images. The recorded step keeps about one step&apos;s working memory reserved; turn it off if GPU memory is very tight.</source>
        <translation>Die GPU spielt einen aufgezeichneten Schritt ab, statt auf Hunderte von Starts durch die CPU zu warten: schneller, dieselben Bilder. Der aufgezeichnete Schritt hält etwa den Arbeitsspeicher eines Schritts reserviert; schalten Sie es aus, wenn der GPU-Speicher sehr knapp ist.</translation>
    </message>
    <message>
        <source>Memory &amp;graph interval:</source>
        <translation>Intervall des Speicher&amp;diagramms:</translation>
    </message>
    <message>
        <source> ms</source>
        <translation> ms</translation>
    </message>
    <message>
        <source>How often the GPU memory graph takes a sample.</source>
        <translation>Wie oft das GPU-Speicherdiagramm einen Messwert aufnimmt.</translation>
    </message>
    <message>
        <source>&amp;Steps:</source>
        <translation>&amp;Schritte:</translation>
    </message>
    <message>
        <source>&amp;Guidance (CFG):</source>
        <translation>&amp;Guidance (CFG):</translation>
    </message>
    <message>
        <source>&amp;Width:</source>
        <translation>&amp;Breite:</translation>
    </message>
    <message>
        <source>&amp;Height:</source>
        <translation>&amp;Höhe:</translation>
    </message>
    <message>
        <source> px</source>
        <translation> px</translation>
    </message>
    <message>
        <source>Size &amp;presets:</source>
        <translation>Größen&amp;vorgaben:</translation>
    </message>
    <message>
        <source>Offered in the size list of the main window, separated by commas, e.g. 512x512, 768x512.</source>
        <translation>Werden in der Größenliste des Hauptfensters angeboten, durch Kommas getrennt, z. B. 512x512, 768x512.</translation>
    </message>
    <message>
        <source>S&amp;ampler:</source>
        <translation>S&amp;ampler:</translation>
    </message>
    <message>
        <source>Seed &amp;mode:</source>
        <translation>Seed-&amp;Modus:</translation>
    </message>
    <message>
        <source>S&amp;eed:</source>
        <translation>See&amp;d:</translation>
    </message>
    <message>
        <source>Images per &amp;generation:</source>
        <translation>Bilder pro &amp;Erzeugung:</translation>
    </message>
    <message>
        <source>&amp;CLIP skip:</source>
        <translation>&amp;CLIP-Skip:</translation>
    </message>
    <message>
        <source>1 uses the text encoder&apos;s last layer; 2 the one before it, as some anime models expect.</source>
        <translation>1 nutzt die letzte Schicht des Text-Encoders, 2 die davor, wie es manche Anime-Modelle erwarten.</translation>
    </message>
    <message>
        <source>&amp;Negative prompt:</source>
        <translation>&amp;Negativer Prompt:</translation>
    </message>
    <message>
        <source>Model &amp;folders:</source>
        <translation>Modell&amp;ordner:</translation>
    </message>
    <message>
        <source>&amp;Add…</source>
        <translation>&amp;Hinzufügen …</translation>
    </message>
    <message>
        <source>&amp;Remove</source>
        <translation>&amp;Entfernen</translation>
    </message>
    <message>
        <source>Folders that hold diffusers model folders, in addition to the bundled model and the Hugging Face cache.</source>
        <translation>Ordner mit Modellordnern im diffusers-Format, zusätzlich zum mitgelieferten Modell und zum Hugging-Face-Cache.</translation>
    </message>
    <message>
        <source>&amp;Default model:</source>
        <translation>&amp;Standardmodell:</translation>
    </message>
    <message>
        <source>the bundled model</source>
        <translation>das mitgelieferte Modell</translation>
    </message>
    <message>
        <source>&amp;Output folder:</source>
        <translation>&amp;Ausgabeordner:</translation>
    </message>
    <message>
        <source>&amp;Browse…</source>
        <translation>&amp;Durchsuchen …</translation>
    </message>
    <message>
        <source>&amp;Ollama URL:</source>
        <translation>&amp;Ollama-URL:</translation>
    </message>
    <message>
        <source>The Ollama server that writes and refines prompts, and that is asked to make room on the GPU.</source>
        <translation>Der Ollama-Server, der Prompts schreibt und verfeinert und der um Platz auf der GPU gebeten wird.</translation>
    </message>
    <message>
        <source>&amp;TwistedPair URL:</source>
        <translation>&amp;TwistedPair-URL:</translation>
    </message>
    <message>
        <source>The TwistedPair service that distorts prompts rhetorically.</source>
        <translation>Der TwistedPair-Dienst, der Prompts rhetorisch verzerrt.</translation>
    </message>
    <message>
        <source>TwistedPair &amp;timeout:</source>
        <translation>TwistedPair-&amp;Zeitlimit:</translation>
    </message>
    <message>
        <source> s</source>
        <translation> s</translation>
    </message>
    <message>
        <source>&amp;Language:</source>
        <translation>&amp;Sprache:</translation>
    </message>
    <message>
        <source>Changes the interface at once, without a restart.</source>
        <translation>Ändert die Oberfläche sofort, ohne Neustart.</translation>
    </message>
    <message>
        <source>&amp;Verbose logging</source>
        <translation>&amp;Ausführliches Protokoll</translation>
    </message>
    <message>
        <source>Writes debug detail to the log view and the log file; useful when reporting a problem.</source>
        <translation>Schreibt Debug-Details in die Protokollansicht und die Protokolldatei; hilfreich, wenn Sie ein Problem melden.</translation>
    </message>
    <message>
        <source>Nothing was saved: correct the value marked in red.</source>
        <translation>Nichts wurde gespeichert: Korrigieren Sie den rot markierten Wert.</translation>
    </message>
    <message>
        <source>Could not save the settings: %1</source>
        <translation>Die Einstellungen konnten nicht gespeichert werden: %1</translation>
    </message>
    <message>
        <source>fp8 weights — half the memory of fp16/bf16 (libtorch 2.1+)</source>
        <translation>fp8-Gewichte – halb so viel Speicher wie fp16/bf16 (libtorch 2.1+)</translation>
    </message>
    <message>
        <source>fp8 weights and matrix multiplication (Ada/Hopper GPUs, opt-in)</source>
        <translation>fp8-Gewichte und -Matrixmultiplikation (Ada-/Hopper-GPUs, nie automatisch gewählt)</translation>
    </message>
    <message>
        <source>GPU memory &amp;budget:</source>
        <translation>B&amp;udget für GPU-Speicher:</translation>
    </message>
    <message>
        <source>What one image may use on the GPU: &quot;auto&quot; leaves what Ollama&apos;s loaded models still need and the reserve below free; &quot;all&quot; uses whatever is free; or a size such as 12GiB. A model larger than the budget runs with its text encoders and VAE on the GPU only while they work and its blocks streamed from RAM: slower, but within the budget.</source>
        <translation>Was ein Bild auf der GPU belegen darf: „auto“ lässt frei, was die geladenen Modelle von Ollama noch brauchen, und dazu die Reserve unten; „all“ nutzt alles, was frei ist; oder eine Größe wie 12GiB. Ein Modell, das größer als das Budget ist, hat seine Text-Encoder und seinen VAE nur auf der GPU, solange sie arbeiten, und seine Blöcke werden aus dem RAM gestreamt: langsamer, aber innerhalb des Budgets.</translation>
    </message>
    <message>
        <source>R&amp;eserve for other programs:</source>
        <translation>R&amp;eserve für andere Programme:</translation>
    </message>
    <message>
        <source> MiB</source>
        <translation> MiB</translation>
    </message>
    <message>
        <source>With the automatic budget: GPU memory left free for the desktop and other programs.</source>
        <translation>Beim automatischen Budget: GPU-Speicher, der für den Desktop und andere Programme frei bleibt.</translation>
    </message>
</context>
<context>
    <name>tp::ui::Translation</name>
    <message>
        <source>System default</source>
        <translation>Systemvorgabe</translation>
    </message>
</context>
<context>
    <name>tp::ui::Units</name>
    <message>
        <source>%1 GiB</source>
        <translation>%1 GiB</translation>
    </message>
    <message>
        <source>%1 MiB</source>
        <translation>%1 MiB</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <source>%1 min %2 s</source>
        <translation>%1 min %2 s</translation>
    </message>
</context>
<context>
    <name>tp::ui::VramGraph</name>
    <message>
        <source>%1 GiB</source>
        <translation>%1 GiB</translation>
    </message>
    <message>
        <source>%1 MiB</source>
        <translation>%1 MiB</translation>
    </message>
    <message>
        <source>now</source>
        <translation>jetzt</translation>
    </message>
    <message>
        <source>−%1 min</source>
        <translation>−%1 min</translation>
    </message>
    <message>
        <source>−%1 s</source>
        <translation>−%1 s</translation>
    </message>
    <message>
        <source>GPU memory graph</source>
        <translation>GPU-Speicherdiagramm</translation>
    </message>
    <message>
        <source>%1 of %2 in use on %3</source>
        <translation>%1 von %2 belegt auf %3</translation>
    </message>
    <message>
        <source>Device used</source>
        <translation>Gerät belegt</translation>
    </message>
    <message>
        <source>Total</source>
        <translation>Gesamt</translation>
    </message>
    <message>
        <source>TwistedPic reserved</source>
        <translation>TwistedPic reserviert</translation>
    </message>
    <message>
        <source>TwistedPic allocated</source>
        <translation>TwistedPic belegt</translation>
    </message>
    <message>
        <source>Other processes</source>
        <translation>Andere Prozesse</translation>
    </message>
    <message>
        <source>Ollama</source>
        <translation>Ollama</translation>
    </message>
    <message>
        <source>Ollama (pid %1)</source>
        <translation>Ollama (PID %1)</translation>
    </message>
    <message>
        <source>Waiting for the first memory sample…</source>
        <translation>Warte auf den ersten Speichermesswert …</translation>
    </message>
    <message>
        <source>No NVIDIA GPU — running on CPU</source>
        <translation>Keine NVIDIA-GPU – Berechnung auf der CPU</translation>
    </message>
    <message>
        <source>%1 %2%3</source>
        <translation>%1 %2%3</translation>
    </message>
    <message>
        <source>start</source>
        <translation>Start</translation>
    </message>
    <message>
        <source>done</source>
        <translation>fertig</translation>
    </message>
    <message>
        <source>cleanup</source>
        <translation>Aufräumen</translation>
    </message>
    <message>
        <source>unload</source>
        <translation>Entladen</translation>
    </message>
    <message>
        <source>reload</source>
        <translation>Neu geladen</translation>
    </message>
    <message>
        <source>load</source>
        <translation>Geladen</translation>
    </message>
    <message>
        <source>out of memory</source>
        <translation>Speicher voll</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>%1 (pid %2): %3</source>
        <translation>%1 (PID %2): %3</translation>
    </message>
    <message>
        <source>budget %1 ▲</source>
        <translation>Budget %1 ▲</translation>
    </message>
    <message>
        <source>budget %1</source>
        <translation>Budget %1</translation>
    </message>
    <message>
        <source>Budget: %1</source>
        <translation>Budget: %1</translation>
    </message>
    <message>
        <source>Plan&apos;s predicted peak: %1</source>
        <translation>Vom Plan erwartete Spitze: %1</translation>
    </message>
</context>
<context>
    <name>tp::ui::VramPanel</name>
    <message>
        <source>&amp;Window:</source>
        <translation>&amp;Zeitraum:</translation>
    </message>
    <message>
        <source>1 min</source>
        <translation>1 min</translation>
    </message>
    <message>
        <source>5 min</source>
        <translation>5 min</translation>
    </message>
    <message>
        <source>15 min</source>
        <translation>15 min</translation>
    </message>
    <message>
        <source>How much history the graph shows</source>
        <translation>Wie viel Verlauf das Diagramm zeigt</translation>
    </message>
    <message>
        <source>&amp;Free GPU memory now</source>
        <translation>GPU-Speicher jetzt &amp;freigeben</translation>
    </message>
    <message>
        <source>Return the memory TwistedPic holds in its cache to the GPU, so that Ollama and other programs can use it. The model stays loaded.</source>
        <translation>Gibt den Speicher, den TwistedPic im Cache hält, an die GPU zurück, damit Ollama und andere Programme ihn nutzen können. Das Modell bleibt geladen.</translation>
    </message>
    <message>
        <source>&amp;Unload model now</source>
        <translation>Modell jetzt &amp;entladen</translation>
    </message>
    <message>
        <source>Move the model&apos;s weights to RAM. The GPU then holds only the CUDA context; the next image reloads the model in a fraction of a second.</source>
        <translation>Verschiebt die Gewichte des Modells in den RAM. Auf der GPU bleibt dann nur der CUDA-Kontext; das nächste Bild lädt das Modell in Sekundenbruchteilen zurück.</translation>
    </message>
    <message>
        <source>Waiting for GPU memory figures…</source>
        <translation>Warte auf Werte zum GPU-Speicher …</translation>
    </message>
    <message>
        <source>No NVIDIA GPU — running on CPU</source>
        <translation>Keine NVIDIA-GPU – Berechnung auf der CPU</translation>
    </message>
    <message>
        <source>Loading the model…</source>
        <translation>Modell wird geladen …</translation>
    </message>
    <message>
        <source>Reloading the model to the GPU…</source>
        <translation>Modell wird auf die GPU zurückgeladen …</translation>
    </message>
    <message>
        <source>Unloading the model to RAM…</source>
        <translation>Modell wird in den RAM ausgelagert …</translation>
    </message>
    <message>
        <source>Freeing GPU memory…</source>
        <translation>GPU-Speicher wird freigegeben …</translation>
    </message>
    <message>
        <source>Generating · %1 in use</source>
        <translation>Erzeugung läuft · %1 belegt</translation>
    </message>
    <message>
        <source>Generating</source>
        <translation>Erzeugung läuft</translation>
    </message>
    <message>
        <source>Model on GPU · %1</source>
        <translation>Modell auf der GPU · %1</translation>
    </message>
    <message>
        <source>Model on GPU</source>
        <translation>Modell auf der GPU</translation>
    </message>
    <message>
        <source>Model unloaded to RAM</source>
        <translation>Modell in den RAM ausgelagert</translation>
    </message>
    <message>
        <source>Idle — %1 reserved</source>
        <translation>Bereit – %1 reserviert</translation>
    </message>
    <message>
        <source>Idle</source>
        <translation>Bereit</translation>
    </message>
    <message>
        <source>%1 · %2 of %3 in use</source>
        <translation>%1 · %2 von %3 belegt</translation>
    </message>
    <message>
        <source> · TwistedPic holds %1</source>
        <translation> · TwistedPic hält %1</translation>
    </message>
    <message>
        <source>Model on the CPU</source>
        <translation>Modell auf der CPU</translation>
    </message>
    <message>
        <source> · model %1</source>
        <translation> · Modell %1</translation>
    </message>
    <message>
        <source>Model partly on GPU · %1</source>
        <translation>Modell teilweise auf der GPU · %1</translation>
    </message>
    <message>
        <source>Model partly on GPU</source>
        <translation>Modell teilweise auf der GPU</translation>
    </message>
    <message>
        <source>No plan yet: each generation on the GPU gets one that fits the VRAM budget.</source>
        <translation>Noch kein Plan: Jede Erzeugung auf der GPU bekommt einen, der ins VRAM-Budget passt.</translation>
    </message>
    <message>
        <source>No plan: the model runs on the CPU.</source>
        <translation>Kein Plan: Das Modell läuft auf der CPU.</translation>
    </message>
    <message>
        <source>No plan: the budget is “all”, so the whole model stays on the GPU.</source>
        <translation>Kein Plan: Das Budget ist „all“, also bleibt das ganze Modell auf der GPU.</translation>
    </message>
    <message>
        <source>No plan for the last generation: the whole model stayed on the GPU (the log says why).</source>
        <translation>Kein Plan für die letzte Erzeugung: Das ganze Modell blieb auf der GPU (der Grund steht im Protokoll).</translation>
    </message>
    <message>
        <source>Budget %1 — %2</source>
        <translation>Budget %1 – %2</translation>
    </message>
    <message>
        <source>⚠ The plan does not fit the budget.</source>
        <translation>⚠ Der Plan passt nicht ins Budget.</translation>
    </message>
    <message>
        <source>⚠ %1</source>
        <translation>⚠ %1</translation>
    </message>
    <message>
        <source>The budget is set in Settings → GPU memory (gpu/vramBudget): “auto” leaves room for Ollama and other programs, a size caps TwistedPic, “all” takes what is free.</source>
        <translation>Das Budget wird unter Einstellungen → GPU-Speicher festgelegt (gpu/vramBudget): „auto“ lässt Platz für Ollama und andere Programme, eine Größe begrenzt TwistedPic, „all“ nimmt, was frei ist.</translation>
    </message>
    <message>
        <source>How the budget was reached: %1</source>
        <translation>Wie das Budget zustande kam: %1</translation>
    </message>
    <message>
        <source>Predicted peak: %1 of the %2 budget (%3 of it kept free as headroom)</source>
        <translation>Erwartete Spitze: %1 des Budgets von %2 (davon %3 als Puffer frei gehalten)</translation>
    </message>
    <message>
        <source>Streamed from RAM: %1 per denoiser call</source>
        <translation>Aus dem RAM gestreamt: %1 pro Aufruf des Entrauschers</translation>
    </message>
    <message>
        <source>Lowered one step from the first plan after the GPU ran out of memory.</source>
        <translation>Gegenüber dem ersten Plan um eine Stufe gesenkt, nachdem der GPU-Speicher nicht reichte.</translation>
    </message>
    <message>
        <source>Lowered %1 steps from the first plan after the GPU ran out of memory.</source>
        <translation>Gegenüber dem ersten Plan um %1 Stufen gesenkt, nachdem der GPU-Speicher nicht reichte.</translation>
    </message>
    <message>
        <source>The dashed line on the graph is the budget.</source>
        <translation>Die gestrichelte Linie im Diagramm ist das Budget.</translation>
    </message>
</context>
<context>
    <name>tp::ui::ServicesPanel</name>
    <message>
        <source>%1% CPU / %2% GPU</source>
        <translation>%1% CPU / %2% GPU</translation>
    </message>
    <message>
        <source>100% GPU</source>
        <translation>100% GPU</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>unbekannt</translation>
    </message>
    <message>
        <source>Stopped: %1</source>
        <translation>Abgebrochen: %1</translation>
    </message>
    <message>
        <source>Checking %1 …</source>
        <translation>Prüfe %1 …</translation>
    </message>
    <message>
        <source>Not answering at %1: %2</source>
        <translation>Keine Antwort unter %1: %2</translation>
    </message>
    <message>
        <source>Running (version %1) at %2; no model loaded.</source>
        <translation>Läuft (Version %1) unter %2; kein Modell geladen.</translation>
    </message>
    <message>
        <source>Running (version %1) at %2. Loaded models:</source>
        <translation>Läuft (Version %1) unter %2. Geladene Modelle:</translation>
    </message>
    <message>
        <source>Running at %1.</source>
        <translation>Läuft unter %1.</translation>
    </message>
    <message>
        <source>Ollama</source>
        <translation>Ollama</translation>
    </message>
    <message>
        <source>TwistedPair</source>
        <translation>TwistedPair</translation>
    </message>
    <message>
        <source>Loaded model</source>
        <translation>Geladenes Modell</translation>
    </message>
    <message>
        <source>Runs on</source>
        <translation>Läuft auf</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>Größe</translation>
    </message>
    <message>
        <source>Give the GPU back to Ollama</source>
        <translation>GPU an Ollama zurückgeben</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Aktualisieren</translation>
    </message>
    <message>
        <source>Ask both services again now</source>
        <translation>Beide Dienste jetzt erneut abfragen</translation>
    </message>
</context>
<context>
    <name>tp::ui::PromptStagesDialog</name>
    <message>
        <source>Prompt stages</source>
        <translation>Prompt-Stufen</translation>
    </message>
    <message>
        <source>As typed:</source>
        <translation>Wie eingegeben:</translation>
    </message>
    <message>
        <source>TwistedPair:</source>
        <translation>TwistedPair:</translation>
    </message>
    <message>
        <source>Ollama keywords:</source>
        <translation>Ollama-Stichwörter:</translation>
    </message>
    <message>
        <source>%1 failed (%2): %3</source>
        <translation>%1 ist fehlgeschlagen (%2): %3</translation>
    </message>
    <message>
        <source>&amp;Generate</source>
        <translation>&amp;Erzeugen</translation>
    </message>
    <message>
        <source>&amp;Generate from this prompt</source>
        <translation>Aus diesem Prompt &amp;erzeugen</translation>
    </message>
    <message>
        <source>Final prompt (you can edit it):</source>
        <translation>Endgültiger Prompt (bearbeitbar):</translation>
    </message>
</context>
<context>
    <name>tp::ui::HelpViewer</name>
    <message>
        <source>TwistedPic help — %1</source>
        <translation>TwistedPic-Hilfe — %1</translation>
    </message>
</context>
<context>
    <name>tp::ui::FirstRunDialog</name>
    <message>
        <source>&amp;Import the original app&apos;s config.py…</source>
        <translation>config.py des Originals &amp;importieren…</translation>
    </message>
    <message>
        <source>Coming from the Python original? Its settings are read from its config.py, never run</source>
        <translation>Vom Python-Original umgestiegen? Seine Einstellungen werden aus seiner config.py gelesen, nie ausgeführt</translation>
    </message>
    <message>
        <source>Welcome to TwistedPic</source>
        <translation>Willkommen bei TwistedPic</translation>
    </message>
    <message>
        <source>TwistedPic makes images with Stable Diffusion models on this computer and gives the GPU back to Ollama after every image. This is what it found:</source>
        <translation>TwistedPic erzeugt Bilder mit Stable-Diffusion-Modellen auf diesem Rechner und gibt die GPU nach jedem Bild an Ollama zurück. Das hat es gefunden:</translation>
    </message>
    <message>
        <source>Looking for a GPU…</source>
        <translation>Suche nach einer GPU…</translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation>Prüfe…</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modell</translation>
    </message>
    <message>
        <source>Family</source>
        <translation>Familie</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>Größe</translation>
    </message>
    <message>
        <source>Found in</source>
        <translation>Gefunden in</translation>
    </message>
    <message>
        <source>&amp;Free the GPU memory an image used, after every image</source>
        <translation>&amp;Nach jedem Bild den GPU-Speicher freigeben, den es brauchte</translation>
    </message>
    <message>
        <source>&amp;Move the model to RAM after every image</source>
        <translation>Modell nach jedem Bild in den &amp;RAM verschieben</translation>
    </message>
    <message>
        <source>The first switch costs a few milliseconds and keeps only the model on the GPU; leave it on. The second also moves the model to RAM, leaving the whole GPU to Ollama, and brings it back in a fraction of a second for the next image.</source>
        <translation>Der erste Schalter kostet ein paar Millisekunden und lässt nur das Modell auf der GPU; lassen Sie ihn an. Der zweite verschiebt auch das Modell in den RAM, überlässt Ollama die ganze GPU und holt es für das nächste Bild in Sekundenbruchteilen zurück.</translation>
    </message>
    <message>
        <source>GPU:</source>
        <translation>GPU:</translation>
    </message>
    <message>
        <source>Ollama:</source>
        <translation>Ollama:</translation>
    </message>
    <message>
        <source>TwistedPair:</source>
        <translation>TwistedPair:</translation>
    </message>
    <message>
        <source>&amp;Start</source>
        <translation>&amp;Starten</translation>
    </message>
    <message>
        <source>Models:</source>
        <translation>Modelle:</translation>
    </message>
    <message>
        <source>No NVIDIA GPU (%1): images are made on the CPU, more slowly.</source>
        <translation>Keine NVIDIA-GPU (%1): Bilder entstehen langsamer auf der CPU.</translation>
    </message>
    <message>
        <source>%1, %2 of %3 free</source>
        <translation>%1, %2 von %3 frei</translation>
    </message>
    <message>
        <source>running (version %1) at %2, %3 model(s) installed</source>
        <translation>läuft (Version %1) unter %2, %3 Modell(e) installiert</translation>
    </message>
    <message>
        <source>not answering at %1: %2</source>
        <translation>keine Antwort unter %1: %2</translation>
    </message>
    <message>
        <source>running at %1</source>
        <translation>läuft unter %1</translation>
    </message>
    <message>
        <source>%1 (not supported yet)</source>
        <translation>%1 (noch nicht unterstützt)</translation>
    </message>
    <message>
        <source>%1 (needs %2)</source>
        <translation>%1 (braucht %2)</translation>
    </message>
</context>
<context>
    <name>tp::ui::ImportOriginal</name>
    <message>
        <source>Import the original app&apos;s config.py</source>
        <translation>config.py der ursprünglichen App importieren</translation>
    </message>
    <message>
        <source>Python files (*.py)</source>
        <translation>Python-Dateien (*.py)</translation>
    </message>
    <message>
        <source>Import from the original</source>
        <translation>Aus dem Original importieren</translation>
    </message>
    <message>
        <source>%1 holds nothing that TwistedPic uses.</source>
        <translation>%1 enthält nichts, was TwistedPic verwendet.</translation>
    </message>
    <message>
        <source>%1 setting(s) from %2 will change.</source>
        <translation>%1 Einstellung(en) aus %2 werden geändert.</translation>
    </message>
    <message>
        <source>Ignored:</source>
        <translation>Ignoriert:</translation>
    </message>
    <message>
        <source>&amp;Import</source>
        <translation>&amp;Importieren</translation>
    </message>
    <message>
        <source>Nothing was saved: %1</source>
        <translation>Nichts wurde gespeichert: %1</translation>
    </message>
</context>
<context>
    <name>tp::ui::AppWiring</name>
    <message>
        <source>Distorting the prompt with TwistedPair…</source>
        <translation>Der Prompt wird mit TwistedPair verzerrt…</translation>
    </message>
    <message>
        <source>Refining to visual keywords with Ollama…</source>
        <translation>Ollama verdichtet ihn zu visuellen Stichwörtern…</translation>
    </message>
    <message>
        <source>Making room on the GPU…</source>
        <translation>Auf der GPU wird Platz geschaffen…</translation>
    </message>
    <message>
        <source>with %1</source>
        <translation>mit %1</translation>
    </message>
    <message>
        <source>%1 (%2) — needs %3</source>
        <translation>%1 (%2) — braucht %3</translation>
    </message>
</context>
</TS>
