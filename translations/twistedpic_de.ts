<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>tp::ui::GalleryModel</name>
    <message>
        <source>This file could not be read as an image.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No generation parameters recorded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 × %2 · %3 · %4 steps · seed %5</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model: %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>tp::ui::GalleryView</name>
    <message>
        <source>&amp;Use these settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Put this image&apos;s prompt, seed and settings into the generation form</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Copy parameters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Open folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open the output folder in the file manager</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Generated images</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No output folder is set.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No images in %1 yet. Generated images appear here.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select an image to see how it was made.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No generation parameters recorded in this image.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>tp::ui::GenerationForm</name>
    <message>
        <source>&amp;Prompt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Describe the picture, e.g. &quot;a lighthouse at dusk, oil painting&quot;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Prompt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Negative prompt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What the picture should not show</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Negative prompt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Model:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>S&amp;ampler:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Steps:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>G&amp;uidance:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How closely the image follows the prompt (classifier-free guidance scale)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Si&amp;ze:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> px</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Width</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Height</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>S&amp;eed:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Random</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fixed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>random</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Seed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reuse the last image&apos;s seed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reuse last seed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pick a new random seed and keep it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New random seed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Images:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Generate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Generate (Ctrl+Enter)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop after the current step (Esc)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ctrl+Enter generates · Esc cancels</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 × %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Custom</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The sampler &quot;%1&quot; is not available here; keeping %2.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The model &quot;%1&quot; is not installed; keeping %2.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reuse the last image&apos;s seed (%1)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>tp::ui::ImageViewer</name>
    <message>
        <source>&amp;Fit to window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Actual size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Zoom &amp;in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Zoom &amp;out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Copy image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Save image as…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open the image&apos;s &amp;folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Previous image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Next image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your images appear here.
Write a prompt and press Generate (Ctrl+Enter).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save image as</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PNG image (*.png);;JPEG image (*.jpg *.jpeg);;WebP image (*.webp)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not save the image as %1.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>tp::ui::LogView</name>
    <message>
        <source>Log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Everything (debug)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Information</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Warnings and errors</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Errors only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Least important level shown</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log level</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search the log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>F&amp;ollow</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Scroll to each new line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy the selected lines, or all shown lines when none is selected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Clear</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Empty this view (the log file keeps everything)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>tp::ui::MainWindow</name>
    <message>
        <source>Saved %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About TwistedPic</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;h3&gt;TwistedPic %1&lt;/h3&gt;&lt;p&gt;Stable Diffusion image generation on your own GPU, sharing it politely with Ollama.&lt;/p&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>TwistedPic</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>G&amp;PU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Generate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Cancel generation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Open output folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Free GPU memory now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Unload model now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;About TwistedPic</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gallery</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU memory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dismiss the error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ready</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Idle</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading the model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Generating</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Freeing GPU memory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unloading the model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reloading the model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 · %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Step %1 of %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> · %1 it/s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> · %1 left</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Preview · step %1 of %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done in %1 · %2 it/s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done in %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n image(s) made with seed %1 on %2</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Stopped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading the model…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reloading the model…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings of the selected image are in the form.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>tp::ui::SettingsDialog</name>
    <message>
        <source>&quot;%1&quot; is not a size like 768x512 (multiples of 8, 64 to 4096).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add a model folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a folder for the generated images.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Output folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Automatic (NVIDIA GPU when present, else CPU)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>NVIDIA GPU (the first one)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>NVIDIA GPU 0</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>NVIDIA GPU 1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU (slow, uses no GPU memory)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Automatic (fp16 on the GPU, fp32 on the CPU)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>fp16 — half precision</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>bf16 — bfloat16</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>fp32 — full precision</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Random for every generation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fixed (the seed below)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU memory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Generation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Models and output</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Services</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Interface</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>TwistedPic shares the GPU with Ollama and other programs. These settings decide how much memory it keeps between images.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Free cached GPU memory after each image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Returns the memory allocator&apos;s cache to the GPU after each image, so that Ollama and other programs can use it. Costs a few milliseconds; the next image allocates again. Turn it off only if nothing else uses this GPU.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Unload the model to RAM after each image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Moves the model&apos;s weights to (pinned) RAM after each image, so that the GPU holds only the CUDA context, about half a gigabyte. Reloading takes a fraction of a second for SD 1.5-sized models. Use it when a language model needs the whole card.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask Ollama to make &amp;room before generating</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>When free GPU memory is short, ask Ollama to unload the models it is not using, so that neither program falls back to the much slower CPU.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unload when &amp;idle for:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Never</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Like Ollama&apos;s keep_alive: after this many minutes without a request the model moves to RAM.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Device:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Where images are computed. A change takes effect with the next image.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Precision:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Half precision needs half the memory and is fastest on NVIDIA GPUs.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Memory &amp;graph interval:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How often the GPU memory graph takes a sample.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Steps:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Guidance (CFG):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Width:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Height:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> px</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Size &amp;presets:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Offered in the size list of the main window, separated by commas, e.g. 512x512, 768x512.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>S&amp;ampler:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Seed &amp;mode:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>S&amp;eed:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Images per &amp;generation:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;CLIP skip:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1 uses the text encoder&apos;s last layer; 2 the one before it, as some anime models expect.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Negative prompt:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model &amp;folders:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Add…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Folders that hold diffusers model folders, in addition to the bundled model and the Hugging Face cache.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Default model:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the bundled model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Output folder:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Browse…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Ollama URL:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The Ollama server that writes and refines prompts, and that is asked to make room on the GPU.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;TwistedPair URL:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The TwistedPair service that distorts prompts rhetorically.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>TwistedPair &amp;timeout:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Language:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Changes the interface at once, without a restart.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Verbose logging</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Writes debug detail to the log view and the log file; useful when reporting a problem.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing was saved: correct the value marked in red.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not save the settings: %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>tp::ui::Translation</name>
    <message>
        <source>System default</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>tp::ui::Units</name>
    <message>
        <source>%1 GiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 MiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 min %2 s</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>tp::ui::VramGraph</name>
    <message>
        <source>%1 GiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 MiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>−%1 min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>−%1 s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU memory graph</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 of %2 in use on %3</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device used</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Total</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>TwistedPic reserved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>TwistedPic allocated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Other processes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ollama</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ollama (pid %1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Waiting for the first memory sample…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No NVIDIA GPU — running on CPU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 %2%3</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cleanup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unload</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>reload</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>load</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>out of memory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 (pid %2): %3</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>tp::ui::VramPanel</name>
    <message>
        <source>&amp;Window:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1 min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>5 min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>15 min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How much history the graph shows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Free GPU memory now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Return the memory TwistedPic holds in its cache to the GPU, so that Ollama and other programs can use it. The model stays loaded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Unload model now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Move the model&apos;s weights to RAM. The GPU then holds only the CUDA context; the next image reloads the model in a fraction of a second.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Waiting for GPU memory figures…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No NVIDIA GPU — running on CPU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading the model…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reloading the model to the GPU…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unloading the model to RAM…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Freeing GPU memory…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Generating · %1 in use</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Generating</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model on GPU · %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model on GPU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model unloaded to RAM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Idle — %1 reserved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Idle</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 · %2 of %3 in use</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> · TwistedPic holds %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
